/**
 * scripts/toolchain/pins.tsv pins each engine piece to the npm package it serves. The engine
 * refuses nothing when they drift; it silently runs a plugin whose schema the SDK doesn't match.
 * So this fails first.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { readPins } from "../pins";

const root = path.join(__dirname, "..", "..");

describe("toolchain pins (scripts/toolchain/pins.tsv)", () => {
    const pins = readPins();
    const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
    const lock = JSON.parse(fs.readFileSync(path.join(root, "package-lock.json"), "utf8"));

    it("pins the CLI, the language host and every provider plugin the program imports", () => {
        assert.deepEqual(pins.map((p) => p.piece).sort(), ["cli", "command", "language-nodejs", "random", "tls"]);
    });

    for (const pin of pins) {
        it(`${pin.piece} ${pin.version} matches ${pin.npm} in package.json and package-lock.json`, () => {
            assert.equal(pkg.dependencies[pin.npm], pin.version, `package.json asks for ${pin.npm} ${pkg.dependencies[pin.npm]}`);
            assert.equal(lock.packages[`node_modules/${pin.npm}`].version, pin.version, "package-lock.json");
            if (pin.source.startsWith("go:")) return;
            assert.ok(pin.source.includes(pin.version), `archive ${pin.source} is not the ${pin.version} source`);
        });
    }

    it("the CLI wrapper module requires pkg/v3 and sdk/v3 at the pinned version", () => {
        const version = pins.find((p) => p.piece === "cli")!.version;
        const gomod = fs.readFileSync(path.join(root, "scripts/toolchain/cli/go.mod"), "utf8");
        assert.match(gomod, new RegExp(`github.com/pulumi/pulumi/pkg/v3 v${version.replace(/\./g, "\\.")}\\n`));
        assert.match(gomod, new RegExp(`github.com/pulumi/pulumi/sdk/v3 v${version.replace(/\./g, "\\.")}\\n`));
    });
});
