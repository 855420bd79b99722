/**
 * The two timer jobs as the cluster declares them (snapshots.ts, defrag.ts, hostTimer.ts; mocked
 * engine): each job's files on its member's host are exactly what its renderers produce (script,
 * unit, timer, its own client certificate and key, each with its mode), its client certificate
 * has the job's own CN, and its timer step (labelled `<member> snapshots` / `<member> defragmentation`)
 * enables with the enable script, also on an update, and disables with the disable script on delete.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { EtcdCluster } from "../../../components/cluster";
import * as paths from "../../../components/base/paths";
import { renderScriptBundle, renderStdinRunner } from "../../../components/shell/script";
import { renderDefragScript, renderDefragTimer, renderDefragUnit, renderDisableDefragScript, renderEnableDefragScript } from "../../../components/maintenance/renderDefrag";
import { renderDisableSnapshotsScript, renderEnableSnapshotsScript, renderSnapshotScript, renderSnapshotTimer, renderSnapshotUnit } from "../../../components/maintenance/renderSnapshots";
import { Recorded, installMocks, resolve } from "../mocks";
import { spec } from "../fixtures";

const unwrapSecret = (v: any): any => (typeof v === "object" && v !== null && "value" in v ? v.value : v);

describe("timer jobs as declared: the files, the certificate and the timer step (mocked engine)", function () {
    this.timeout(60_000);
    let tmp: string;
    let recorded: Recorded[];
    let s: ReturnType<typeof spec>;
    before(async () => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-timers-mock-"));
        const tarball = path.join(tmp, "etcd.tar.gz");
        fs.writeFileSync(tarball, "not really a tarball");
        recorded = installMocks();
        s = spec({ binary: { localTarball: tarball }, snapshots: { members: ["lab-2"], onCalendar: "*:0/15", keep: 5, maxAgeDays: 3 },
            defrag: { member: "lab-3", onCalendar: "Sun 03:00" } });
        const c = new EtcdCluster("etcd", { spec: s, sshPrivateKey: pulumi.secret("SSH-KEY") });
        await resolve(c.clientEndpoints);
        await new Promise((r) => setTimeout(r, 200));
    });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    const named = (n: string) => {
        const r = recorded.find((x) => x.name === n);
        assert.ok(r, `no resource ${n}; have ${recorded.map((x) => x.name).filter((x) => /snap|defrag/.test(x)).join(", ")}`);
        return r;
    };

    for (const job of [
        {
            what: "snapshots", files: "lab-2-snapshot-files", step: "lab-2-snapshots-timer", client: "lab-2-snapshots-client", cn: "etcd-snapshot", host: "10.213.0.12",
            label: "lab-2 snapshots", keyFile: "snapshot",
            expected: () => ({
                [paths.snapshotScriptPath]: renderSnapshotScript(s, s.snapshots!), [paths.snapshotUnitPath]: renderSnapshotUnit(),
                [paths.snapshotTimerPath]: renderSnapshotTimer(s.snapshots!),
            }),
            enable: () => renderEnableSnapshotsScript(s.snapshots!), disable: () => renderDisableSnapshotsScript(),
            component: "etcd:index:ScheduledSnapshots",
        },
        {
            what: "defragmentation", files: "lab-3-defrag-files", step: "etcd-defrag-timer", client: "etcd-defrag-client", cn: "etcd-defrag", host: "10.213.0.13",
            label: "lab-3 defragmentation", keyFile: "defrag",
            expected: () => ({
                [paths.defragScriptPath]: renderDefragScript(s), [paths.defragUnitPath]: renderDefragUnit(), [paths.defragTimerPath]: renderDefragTimer(s.defrag!),
            }),
            enable: () => renderEnableDefragScript(s.defrag!), disable: () => renderDisableDefragScript(),
            component: "etcd:index:ScheduledDefrag",
        },
    ]) {
        it(`${job.what}: the script, unit and timer as rendered, the job's own key 0600 and certificate, on its member's host`, () => {
            const write = named(`${job.files}-write`);
            const contents = unwrapSecret(write.inputs.contents) as Record<string, string>;
            for (const [file, content] of Object.entries(job.expected())) assert.equal(contents[file], content, file);
            const pki = s.dirs.pki;
            const key = `${pki}/${job.keyFile}.key`, cert = `${pki}/${job.keyFile}.crt`;
            assert.equal(contents[key], `PRIVATE-KEY(${job.client}-key)`);
            assert.match(contents[cert], new RegExp(`^CERT\\(${job.client}-cert#`));
            const modes = Object.fromEntries(Object.entries(write.inputs.files as Record<string, { mode: string; owner: string }>).map(([p, f]) => [p, `${f.mode} ${f.owner}`]));
            assert.deepEqual(modes, {
                [cert]: `${paths.modes.certificate} root:root`, [key]: `${paths.modes.privateKey} root:root`,
                [Object.keys(job.expected())[0]]: `${paths.modes.binary} root:root`,
                [Object.keys(job.expected())[1]]: `${paths.modes.unit} root:root`,
                [Object.keys(job.expected())[2]]: `${paths.modes.unit} root:root`,
            });
            assert.equal(unwrapSecret(write.inputs.connection).host, job.host);
        });

        it(`${job.what}: its files' write runs in the cluster's Node.js provider instance (not the default one, whose inputs are the whole stack config)`, () => {
            assert.match(named(`${job.files}-write`).provider ?? "(the default provider)", /pulumi:providers:pulumi-nodejs::etcd-host-files::/);
        });

        it(`${job.what}: one component of its own type, holding the job`, () => {
            const components = recorded.filter((r) => r.type === job.component);
            assert.equal(components.length, 1, job.component);
        });

        it(`${job.what}: its client certificate has CN ${job.cn}, organization etcd-stack`, () => {
            const csr = named(`${job.client}-csr`);
            assert.deepEqual(csr.inputs.subject, { commonName: job.cn, organization: "etcd-stack" });
        });

        it(`${job.what}: the timer step enables on create and update, disables on delete, on its member's host`, () => {
            const step = named(job.step);
            // The scripts travel on stdin (remoteStep.ts); the command lines name the step by its label.
            assert.equal(step.inputs.stdin, renderScriptBundle({ create: job.enable(), update: job.enable(), delete: job.disable() }));
            assert.equal(step.inputs.create, renderStdinRunner(job.label, "create"));
            assert.equal(step.inputs.update, renderStdinRunner(job.label, "update"));
            assert.equal(step.inputs.delete, renderStdinRunner(job.label, "delete"));
            assert.equal(unwrapSecret(step.inputs.connection).host, job.host);
        });
    }
});
