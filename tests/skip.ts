import * as fs from "fs";

/**
 * Skips the suite when `reason` is set, printing it first: a test that cannot run
 * on this machine says why and counts as skipped, never as passed. Under CI (CI=true)
 * everything must run, so the reason fails the suite instead.
 */
export function skipIf(ctx: Mocha.Context, reason: string | undefined): void {
    if (reason === undefined) return;
    if (process.env.CI === "true") throw new Error(`cannot run under CI: ${reason}`);
    console.log(`      skipped: ${reason}`);
    ctx.skip();
}

/** Why the etcd tarball `path` is unusable, or undefined when it exists. */
export function tarballMissing(path: string): string | undefined {
    return fs.existsSync(path) ? undefined : `${path} missing: run 'bash scripts/etcd-build.sh'`;
}
