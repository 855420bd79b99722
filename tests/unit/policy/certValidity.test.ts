/** Certificate validity: refused below the minimum, accepted from it on. */
import { strict as assert } from "assert";
import { defaultMinimumValidityHours, validityProblem } from "../../../policy/certValidity";

describe("policy: certificate validity", () => {
    it("refuses fewer hours than the minimum and names both", () => {
        assert.equal(validityProblem(24, 720), "valid for 24 h, below the minimum of 720 h");
        assert.equal(validityProblem(719, 720), "valid for 719 h, below the minimum of 720 h");
    });

    it("accepts the minimum and more", () => {
        assert.equal(validityProblem(720, 720), undefined);
        assert.equal(validityProblem(8760, 720), undefined);
    });

    it("defaults to 30 days, below the program's default (8760 h) and its CA's (87600 h)", () => {
        assert.equal(defaultMinimumValidityHours, 720);
        assert.equal(validityProblem(8760, defaultMinimumValidityHours), undefined);
    });
});
