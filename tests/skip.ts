import * as fs from "fs";

/**
 * Skips the suite when `reason` is set, printing it first: a test that cannot run
 * on this machine says why and counts as skipped, never as passed.
 */
export function skipIf(ctx: Mocha.Context, reason: string | undefined): void {
    if (reason === undefined) return;
    console.log(`      skipped: ${reason}`);
    ctx.skip();
}

/** Why the etcd tarball `path` is unusable, or undefined when it exists. */
export function tarballMissing(path: string): string | undefined {
    return fs.existsSync(path) ? undefined : `${path} missing: run 'bash scripts/etcd-build.sh'`;
}
