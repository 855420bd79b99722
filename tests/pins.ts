import * as fs from "fs";
import * as path from "path";

/** One row of scripts/toolchain/pins.tsv: an engine piece, the npm package it serves, its version, its source. */
export interface Pin { piece: string; npm: string; version: string; source: string }

export function readPins(): Pin[] {
    return fs.readFileSync(path.join(__dirname, "..", "scripts/toolchain/pins.tsv"), "utf8").split("\n")
        .filter((l) => l.trim() !== "" && !l.startsWith("#"))
        .map((l) => {
            const [piece, npm, version, source] = l.trim().split(/\s+/);
            return { piece, npm, version, source };
        });
}
