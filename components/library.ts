/**
 * etcd-stack as a library, for another Pulumi program (`import { EtcdCluster } from "etcd-stack"`):
 * the component, the validator that builds its spec, and the helpers that shape its outputs.
 * Built to `dist/` by `npm run build:lib` (scripts/build-lib.sh: JavaScript, declarations, a package.json);
 * `examples/library` instantiates it, and tests/engine/library.test.ts previews that program.
 */
export { EtcdCluster, EtcdClusterArgs } from "./cluster";
export { ClusterSpec, MemberSpec, RawClusterConfig } from "./spec/types";
export { SpecError } from "./spec/problems";
export { parseClusterSpec } from "./spec/parse";
export { ClusterPlan } from "./plan/planResource";
export { certificateExpiries, consumerOutputs, etcdctlEnv } from "./outputs";
export { monitoringOutputs } from "./renderMonitoring";
