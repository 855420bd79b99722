/**
 * skipPromiseStackMapping: the SDK's per-promise traces are not formatted, every other stack is,
 * and the SDK still records them where the wrapper looks (a newer SDK that moved it fails here).
 */
import { strict as assert } from "assert";
import { recordingFunction, skipPromiseStackMapping, unrecordedStack } from "../../../components/base/promiseStacks";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { debuggablePromise } = require("@pulumi/pulumi/runtime/debuggable") as { debuggablePromise: <T>(p: Promise<T>, ctx: unknown) => Promise<T> };

describe("promise stacks", () => {
    const installed = Error.prepareStackTrace;
    let formatted: string[];
    /** Stands in for ts-node's source-map support: records which traces it formats. */
    const formatter = (_err: Error, sites: NodeJS.CallSite[]) => {
        const top = sites[0]?.getFunctionName() ?? "(none)";
        formatted.push(top);
        return `formatted at ${top}`;
    };
    beforeEach(() => { formatted = []; Error.prepareStackTrace = formatter; });
    afterEach(() => { Error.prepareStackTrace = installed; });

    function errorIn(name: string): string {
        const holder = { [name]: () => new Error("x").stack! };
        return holder[name]();
    }

    it("skips formatting a trace taken in the SDK's recording function and formats every other", () => {
        assert.equal(skipPromiseStackMapping({}), true);
        assert.equal(errorIn(recordingFunction), unrecordedStack);
        assert.equal(errorIn("somethingElse"), "formatted at somethingElse");
        assert.deepEqual(formatted, ["somethingElse"], "the formatter ran for the other trace only");
    });

    it("leaves the formatter alone when leak debugging wants the traces, when none is installed, and when already wrapped", () => {
        assert.equal(skipPromiseStackMapping({ PULUMI_DEBUG_PROMISE_LEAKS: "true" }), false);
        assert.equal(Error.prepareStackTrace, formatter);
        delete (Error as { prepareStackTrace?: unknown }).prepareStackTrace;
        assert.equal(skipPromiseStackMapping({}), false);
        assert.equal(Error.prepareStackTrace, undefined);
        Error.prepareStackTrace = formatter;
        assert.equal(skipPromiseStackMapping({}), true);
        const wrapped = Error.prepareStackTrace;
        assert.equal(skipPromiseStackMapping({}), false, "a second call does not wrap the wrapper");
        assert.equal(Error.prepareStackTrace, wrapped);
    });

    it("the SDK records each promise's trace in that function: formatted before, skipped after", async () => {
        const before = Promise.resolve(1);
        await debuggablePromise(before, "test");
        assert.equal((before as unknown as { _debugStackTrace: string })._debugStackTrace, `formatted at ${recordingFunction}`);

        skipPromiseStackMapping({});
        formatted = [];
        const after = Promise.resolve(2);
        assert.equal(await debuggablePromise(after, "test"), 2, "the promise still resolves");
        assert.equal((after as unknown as { _debugStackTrace: string })._debugStackTrace, unrecordedStack);
        assert.deepEqual(formatted, []);
    });
});
