/*
 * Shared by the stub vendor libraries in native/ (nvml-stub, bmlib-stub, amdsmi-stub): the key=value
 * fixture file that describes the devices, the call trace, and per-symbol error injection.
 * Each stub defines stub_config_env and stub_trace_env (the names of its two environment variables)
 * and is compiled together with stub_config.c by native/build.mjs. Everything here has hidden
 * visibility, so two stubs loaded into one process never bind to each other's copy.
 */
#ifndef UNET_STUB_CONFIG_H
#define UNET_STUB_CONFIG_H

#pragma GCC visibility push(hidden)

/* Defined by each stub: e.g. "UNET_NVML_STUB_CONFIG" and "UNET_NVML_STUB_TRACE". */
extern const char stub_config_env[];
extern const char stub_trace_env[];

/* Value of `key` in the file named by $stub_config_env, or NULL. The file is (re)read whenever the
 * variable names another file, so one process can switch scenarios. Lines: key=value; '#' comments
 * and blank lines are ignored, as are lines whose key is 96 bytes or more or whose value is 512 or more. */
const char *stub_get(const char *key);

/* Value of `<prefix><index>.<field>` (e.g. gpu0.name, chip1.p2), or NULL. */
const char *stub_item_get(const char *prefix, long index, const char *field);

/* That value parsed with strtoull (base 0: decimal, 0x hex, 0 octal), or dflt when absent. */
unsigned long long stub_item_num(const char *prefix, long index, const char *field, unsigned long long dflt);

/* Appends "symbol" (or "symbol extra") and a newline to the file named by $stub_trace_env, when set. */
void stub_trace(const char *symbol, const char *extra);

/* The status injected with error.<symbol>=<status> (parsed with strtol, base 0), or 0 (success in
 * every vendor ABI stubbed). */
long stub_injected_error(const char *symbol);

/* Common prologue of every stubbed call: stub_trace(symbol, NULL), then stub_injected_error(symbol). */
long stub_enter(const char *symbol);

#pragma GCC visibility pop

#endif
