/**
 * Scheduled defragmentation on one member, for the whole cluster: a client certificate of its
 * own (its key only on this host), the script, a oneshot unit and a timer (hostTimer.ts), enabled
 * once the cluster's membership is the stack's. Nothing here restarts etcd; turning it off
 * disables the timer.
 */
import * as pulumi from "@pulumi/pulumi";
import { TimerJobPlace, hostTimer } from "./hostTimer";
import * as paths from "../base/paths";
import { LeafCertificate } from "../pki/pki";
import {
    defragCertPath, renderDefragScript, renderDefragTimer, renderDefragUnit, renderDisableDefragScript, renderEnableDefragScript,
} from "./renderDefrag";
import { DefragSpec } from "../spec/types";

/** `after`: the membership step, so the timer starts once the whole cluster runs with the stack's members. */
export interface ScheduledDefragArgs extends TimerJobPlace {
    defrag: DefragSpec;
}

export class ScheduledDefrag extends pulumi.ComponentResource {
    /** The job's client certificate (its key only on the timer's host). */
    public readonly client: LeafCertificate;

    constructor(name: string, args: ScheduledDefragArgs, opts?: pulumi.ComponentResourceOptions) {
        super("etcd:index:ScheduledDefrag", name, {}, opts);
        const { spec, defrag, member } = args;
        this.client = hostTimer(name, {
            ...args,
            client: { name: "defrag", commonName: "etcd-defrag", certPath: defragCertPath(spec, "cert"), keyPath: defragCertPath(spec, "key") },
            script: { path: paths.defragScriptPath, content: renderDefragScript(spec) },
            unit: { path: paths.defragUnitPath, content: renderDefragUnit() },
            timer: { path: paths.defragTimerPath, content: renderDefragTimer(defrag) },
            job: "defrag",
            timerLabel: `${member.name} defragmentation`,
            enable: renderEnableDefragScript(defrag),
            disable: renderDisableDefragScript(),
        }, this);
        this.registerOutputs({});
    }
}
