export { PacketView } from './packet-view';
export { FIELD_CATALOG, FIELD_DEFS, lookupField, formatFieldValue } from './catalog';
export type { FieldDef, FieldInfo, FieldType, FieldValue } from './field-types';
export { describe, describeHit, type DissectedTree } from './describe';
export { summarize } from './summarize';
