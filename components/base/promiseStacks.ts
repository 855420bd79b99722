/**
 * The Pulumi Node.js SDK records a stack trace on every promise it makes (`debuggablePromise` in
 * `@pulumi/pulumi/runtime/debuggable.js` reads `new Error().stack` at once). The trace is only ever
 * printed when `PULUMI_DEBUG_PROMISE_LEAKS` is set, but the engine runs the program under ts-node,
 * whose source-map support maps every frame of every such trace through the source maps: a no-op
 * preview took 0.3–0.4 s longer with it, of 3.8 s (3 members) and 5.5 s (7) (bench/README.md).
 * This skips that mapping for those traces only; any other error's stack is mapped as before.
 */

/** What a skipped trace reads, should anything print it. */
export const unrecordedStack = "(stack not recorded: set PULUMI_DEBUG_PROMISE_LEAKS=true to record promise stacks)";

/** The SDK function whose traces are skipped (a unit test checks the SDK still records them there). */
export const recordingFunction = "debuggablePromise";

type PrepareStackTrace = (err: Error, sites: NodeJS.CallSite[]) => unknown;

/**
 * Wraps the installed `Error.prepareStackTrace` (ts-node's source-map support) so that a trace
 * taken directly in the SDK's `debuggablePromise` is not formatted. Does nothing when no
 * formatter is installed (V8's own is cheap), when leak debugging asks for those traces, or when
 * already done. Returns whether it wrapped.
 */
export function skipPromiseStackMapping(env: NodeJS.ProcessEnv = process.env): boolean {
    const mapped = Error.prepareStackTrace as (PrepareStackTrace & { skipsPromiseStacks?: true }) | undefined;
    if (!mapped || mapped.skipsPromiseStacks || env.PULUMI_DEBUG_PROMISE_LEAKS) return false;
    const wrapped = Object.assign(
        (err: Error, sites: NodeJS.CallSite[]) => sites[0]?.getFunctionName() === recordingFunction ? unrecordedStack : mapped(err, sites),
        { skipsPromiseStacks: true as const },
    );
    Error.prepareStackTrace = wrapped;
    return true;
}
