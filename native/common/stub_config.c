/* Fixture-config reading and call tracing shared by the stub vendor libraries (see stub_config.h). */
#include "stub_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ENTRIES 256
#define KEY_SIZE 96
#define VALUE_SIZE 512

static struct { char key[KEY_SIZE]; char value[VALUE_SIZE]; } entries[MAX_ENTRIES];
static int entry_count = -1;
static char loaded_path[1024] = "";

static void load_config(void) {
  const char *path = getenv(stub_config_env);
  const char *key = path ? path : "";
  if (entry_count >= 0 && strcmp(loaded_path, key) == 0) return;
  snprintf(loaded_path, sizeof loaded_path, "%s", key);
  entry_count = 0;
  if (!path) return;
  FILE *f = fopen(path, "r");
  if (!f) return;
  char line[1024];
  while (fgets(line, sizeof line, f) && entry_count < MAX_ENTRIES) {
    char *nl = strpbrk(line, "\r\n");
    if (nl) *nl = 0;
    if (line[0] == '#' || line[0] == 0) continue;
    char *eq = strchr(line, '=');
    if (!eq || eq - line >= KEY_SIZE || strlen(eq + 1) >= VALUE_SIZE) continue;
    *eq = 0;
    strcpy(entries[entry_count].key, line);
    strcpy(entries[entry_count].value, eq + 1);
    entry_count++;
  }
  fclose(f);
}

const char *stub_get(const char *key) {
  load_config();
  for (int i = 0; i < entry_count; i++)
    if (strcmp(entries[i].key, key) == 0) return entries[i].value;
  return NULL;
}

const char *stub_item_get(const char *prefix, long index, const char *field) {
  char key[KEY_SIZE];
  snprintf(key, sizeof key, "%s%ld.%s", prefix, index, field);
  return stub_get(key);
}

unsigned long long stub_item_num(const char *prefix, long index, const char *field, unsigned long long dflt) {
  const char *v = stub_item_get(prefix, index, field);
  return v ? strtoull(v, NULL, 0) : dflt;
}

void stub_trace(const char *symbol, const char *extra) {
  const char *path = getenv(stub_trace_env);
  if (!path) return;
  FILE *f = fopen(path, "a");
  if (!f) return;
  if (extra) fprintf(f, "%s %s\n", symbol, extra); else fprintf(f, "%s\n", symbol);
  fclose(f);
}

long stub_injected_error(const char *symbol) {
  char key[128];
  snprintf(key, sizeof key, "error.%s", symbol);
  const char *v = stub_get(key);
  return v ? strtol(v, NULL, 0) : 0;
}

long stub_enter(const char *symbol) {
  stub_trace(symbol, NULL);
  return stub_injected_error(symbol);
}
