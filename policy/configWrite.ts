/**
 * Which command writes a member's etcd config. Every file reaches a host through a HostFile
 * component (components/hostFile.ts), named "<member>:<path>", whose write command carries the
 * file's content on stdin; the config is the one named paths.configFileName.
 */
import * as path from "path";
import * as paths from "../components/paths";
import { parseUrn, types } from "./resources";

/** The member and path of the etcd config a resource writes, or undefined for any other resource. */
export function etcdConfigWrite(type: string, parentUrn: string | undefined): { member: string; path: string } | undefined {
    if (type !== types.remoteCommand || parentUrn === undefined) return undefined;
    const parent = parseUrn(parentUrn);
    if (parent.type !== types.hostFile) return undefined;
    const colon = parent.name.indexOf(":");
    const filePath = parent.name.slice(colon + 1);
    if (colon < 0 || path.posix.basename(filePath) !== paths.configFileName) return undefined;
    return { member: parent.name.slice(0, colon), path: filePath };
}
