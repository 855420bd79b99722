/**
 * Which resource writes a member's etcd config. A member's files reach its host through HostFiles
 * components (components/host/hostFiles.ts), each writing with one resource whose `contents` input maps
 * a path to the file's text; the config is the path named paths.configFileName.
 */
import * as path from "path";
import * as paths from "../components/base/paths";
import { known, parseUrn, types } from "./resources";

/**
 * The member, path and text of the etcd config a resource writes, or undefined for any other
 * resource. The text is read when asked for: in a stack's first preview it is unknown, and the
 * read throws @pulumi/policy's UnknownValueError, which the pack reports as "can't run … during
 * preview" (the policy then runs on `up`, before the file is written).
 */
export function etcdConfigWrite(type: string, parentUrn: string | undefined, props: Record<string, unknown>):
    { member: string; path: string; content: () => string } | undefined {
    if (type !== types.dynamic || parentUrn === undefined || parseUrn(parentUrn).type !== types.hostFiles) return undefined;
    const order = known(props, "order");
    const filePath = Array.isArray(order) ? order.find((p) => typeof p === "string" && path.posix.basename(p) === paths.configFileName) : undefined;
    if (filePath === undefined) return undefined;
    const label = known(props, "label");
    return { member: String(label).split(" ")[0], path: filePath, content: () => String((props.contents as Record<string, unknown>)[filePath]) };
}
