import { apiVersionSchema, metadataSchema } from './metadata.js';
import { checkConfigMapKey } from './names.js';
import { object, record, refine, required, string, withDefault } from './schema.js';
import * as unsupported from './unsupported.js';

/** A whole `v1 ConfigMap` document; its data must stay within Kubernetes' 1 MiB. */
export const configMapSchema = refine(
  object(
    {
      apiVersion: required(apiVersionSchema('v1', 'ConfigMap')),
      kind: required(string()),
      metadata: required(metadataSchema),
      data: withDefault(record(checkConfigMapKey, string()), {}),
    },
    unsupported.CONFIG_MAP,
  ),
  (c, node, cx) => {
    const size = Object.entries(c.data).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
    if (size <= 1024 * 1024) return c;
    cx.reportAt(node, ['data'], `is ${size} bytes; a ConfigMap holds at most 1 MiB (1048576 bytes)`);
    return undefined;
  },
);
