/**
 * The problem list: validation records every problem it finds (Reader reads typed values and notes a
 * wrong type), and SpecError names them all at once, so a bad stack fails its preview once.
 */
import { plainPath } from "./values";

/** Thrown when the stack config is invalid; lists every problem at once. */
export class SpecError extends Error {
    constructor(public readonly problems: string[]) {
        super(`invalid etcd stack config (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
            problems.map((p) => `  - ${p}`).join("\n"));
        this.name = "SpecError";
    }
}

export function field(obj: unknown, key: string): unknown {
    if (typeof obj !== "object" || obj === null || Array.isArray(obj)) return undefined;
    return (obj as Record<string, unknown>)[key];
}

export function duplicate(seen: Map<string, number>, key: string, index: number, message: string, problems: string[]): void {
    const first = seen.get(key);
    if (first !== undefined) {
        problems.push(message.replace("%d", String(first)));
    } else {
        seen.set(key, index);
    }
}

/** Reads typed values, recording a problem and returning the fallback when a value has the wrong type. */
export class Reader {
    constructor(public readonly problems: string[]) {}

    string(at: string, value: unknown, fallback: string): string {
        if (value === undefined || value === null) {
            if (fallback === "") this.problems.push(`${at}: required`);
            return fallback;
        }
        if (typeof value !== "string" || value.trim() === "") {
            this.problems.push(`${at}: must be a non-empty string`);
            return fallback;
        }
        return value;
    }

    /** A string that may be absent ("" then). */
    optionalString(at: string, value: unknown): string {
        return value === undefined || value === null ? "" : this.string(at, value, "");
    }

    boolean(at: string, value: unknown, fallback: boolean): boolean {
        if (value === undefined) return fallback;
        if (typeof value === "boolean") return value;
        if (value === "true" || value === "false") return value === "true";
        this.problems.push(`${at}: must be true or false`);
        return fallback;
    }

    positiveInt(at: string, value: unknown, fallback: number): number {
        if (value === undefined) return fallback;
        const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
        if (typeof n !== "number" || !Number.isSafeInteger(n) || n <= 0) {
            this.problems.push(`${at}: must be a positive integer`);
            return fallback;
        }
        return n;
    }

    port(at: string, value: unknown, fallback: number): number {
        const n = this.positiveInt(at, value, fallback);
        if (n > 65535) {
            this.problems.push(`${at}: ${n} is not a TCP port`);
            return fallback;
        }
        return n;
    }

    absPath(at: string, value: unknown, fallback: string): string {
        const s = this.string(at, value, fallback);
        if (s === "") return s; // already reported as required
        if (!s.startsWith("/") || s.includes("..") || /\s/.test(s) || s.length < 2 || s.endsWith("/")) {
            this.problems.push(`${at}: "${s}" must be an absolute path without spaces, "..", or a trailing slash`);
        } else if (!plainPath.test(s)) {
            this.problems.push(`${at}: "${s}" may hold only letters, digits and . _ - / (it is written into scripts run as root)`);
        }
        return s;
    }

    stringList(at: string, value: unknown): string[] {
        if (value === undefined) return [];
        if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) {
            this.problems.push(`${at}: must be a list of strings`);
            return [];
        }
        return value as string[];
    }

    object(at: string, value: unknown): boolean {
        if (value === undefined) return true;
        if (typeof value !== "object" || value === null || Array.isArray(value)) {
            this.problems.push(`${at}: must be an object`);
            return false;
        }
        return true;
    }
}
