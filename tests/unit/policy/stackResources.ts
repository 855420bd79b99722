/** Resources as a stack policy sees them, for the policies' unit tests. */
import { StackResource } from "../../../policy/resources";

/** A resource of `type` named `name` below `parent`; props and property dependencies as given. */
export function resource(type: string, name: string, parent?: StackResource,
    extra: Partial<Pick<StackResource, "props" | "propertyDependencies">> = {}): StackResource {
    return { type, name, urn: `urn:pulumi:dev::etcd-stack::${type}::${name}`, parent, props: {}, propertyDependencies: {}, ...extra };
}
