import { scratchStack } from "../tests/engine/engine";
import { labStackConfig } from "../tests/lab/labStack";
(async () => {
    const s = await scratchStack("prof", { ...labStackConfig(7), sshPrivateKeyPath: "/tmp/prof/key", knownHostsPath: "/tmp/prof/kh" });
    console.log(JSON.stringify({ dir: s.dir, env: s.env }));
})();
