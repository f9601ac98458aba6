// The choices and defaults that main.ts shows in its help, apart from the modules that use them: the
// program is built before any command runs, and importing those modules for a constant would load
// yaml, the manifest checks, ws and the local etcd's code into every process (`berth agent` too).

/** The formats of `-o`. */
export const OUTPUT_FORMATS = ['table', 'json', 'yaml'] as const;
/** The formats of `berth get -o`: the table with more columns too, as kubectl's `-o wide`. */
export const GET_FORMATS = [...OUTPUT_FORMATS, 'wide'] as const;
/** One of OUTPUT_FORMATS. */
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Where `berth up` listens unless told otherwise (its --listen default), and so where the read commands ask when nothing else names a server. */
export const DEFAULT_SERVER = 'http://127.0.0.1:7420';
