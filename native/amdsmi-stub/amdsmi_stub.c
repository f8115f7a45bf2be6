/*
 * libamd_smi.so stub: the subset of AMD SMI (ROCm/amdsmi include/amd_smi/amdsmi.h, lib version 24.7.0)
 * that unet calls, for CI without an AMD GPU. GPUs come from the key=value file named by
 * UNET_AMDSMI_STUB_CONFIG; calls are logged to UNET_AMDSMI_STUB_TRACE; error.<symbol>=<status> injects
 * an error. As on real systems each GPU is its own socket with one processor.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stub_config.h"
#include "stub_layout.h"

typedef uint32_t amdsmi_status_t;
#define AMDSMI_STATUS_SUCCESS 0
#define AMDSMI_STATUS_INVAL 1
#define AMDSMI_STATUS_NOT_SUPPORTED 2
#define AMDSMI_STATUS_NOT_INIT 32
#define AMDSMI_STATUS_INSUFFICIENT_SIZE 41

typedef void *amdsmi_processor_handle;
typedef void *amdsmi_socket_handle;

typedef union {
  struct {
    uint64_t function_number : 3;
    uint64_t device_number : 5;
    uint64_t bus_number : 8;
    uint64_t domain_number : 48;
  };
  uint64_t as_uint;
} amdsmi_bdf_t;

typedef struct {
  char market_name[256];
  uint32_t vendor_id;
  char vendor_name[64];
  uint32_t subvendor_id;
  uint64_t device_id;
  uint32_t rev_id;
  char asic_serial[32];
  uint32_t oam_id;
  uint32_t num_of_compute_units;
  uint64_t target_graphics_version;
  uint32_t reserved[15];
} amdsmi_asic_info_t;

typedef struct {
  char driver_version[64];
  char driver_date[64];
  char driver_name[64];
} amdsmi_driver_info_t;

typedef struct {
  uint32_t vram_total;
  uint32_t vram_used;
  uint32_t reserved[2];
} amdsmi_vram_usage_t;

typedef struct {
  uint32_t gfx_activity;
  uint32_t umc_activity;
  uint32_t mm_activity;
  uint32_t reserved[13];
} amdsmi_engine_usage_t;

#define MAX_GPUS 16
static int initialized = 0;
static struct gpu { int index; } sockets[MAX_GPUS], processors[MAX_GPUS];

const char stub_config_env[] = "UNET_AMDSMI_STUB_CONFIG";
const char stub_trace_env[] = "UNET_AMDSMI_STUB_TRACE";
static amdsmi_status_t enter(const char *symbol) { return (amdsmi_status_t)stub_enter(symbol); }

static uint32_t gpu_count(void) {
  const char *v = stub_get("device_count");
  uint32_t n = v ? (uint32_t)strtoul(v, NULL, 0) : 0;
  return n > MAX_GPUS ? MAX_GPUS : n;
}

static int processor_index(amdsmi_processor_handle h) {
  struct gpu *g = (struct gpu *)h;
  if (!initialized || g < processors || g >= processors + gpu_count()) return -1;
  return g->index;
}

amdsmi_status_t amdsmi_init(uint64_t flags) {
  amdsmi_status_t r = enter("amdsmi_init");
  if (r) return r;
  if (!(flags & (1u << 1))) return AMDSMI_STATUS_INVAL; /* unet asks for AMD GPUs */
  for (int i = 0; i < MAX_GPUS; i++) sockets[i].index = processors[i].index = i;
  initialized = 1;
  return AMDSMI_STATUS_SUCCESS;
}

amdsmi_status_t amdsmi_shut_down(void) {
  amdsmi_status_t r = enter("amdsmi_shut_down");
  if (r) return r;
  initialized = 0;
  return AMDSMI_STATUS_SUCCESS;
}

amdsmi_status_t amdsmi_get_socket_handles(uint32_t *socket_count, amdsmi_socket_handle *socket_handles) {
  amdsmi_status_t r = enter("amdsmi_get_socket_handles");
  if (r) return r;
  if (!initialized) return AMDSMI_STATUS_NOT_INIT;
  if (!socket_count) return AMDSMI_STATUS_INVAL;
  uint32_t n = gpu_count();
  if (!socket_handles) { *socket_count = n; return AMDSMI_STATUS_SUCCESS; }
  if (*socket_count < n) { *socket_count = n; return AMDSMI_STATUS_INSUFFICIENT_SIZE; }
  for (uint32_t i = 0; i < n; i++) socket_handles[i] = &sockets[i];
  *socket_count = n;
  return AMDSMI_STATUS_SUCCESS;
}

amdsmi_status_t amdsmi_get_processor_handles(amdsmi_socket_handle socket_handle, uint32_t *processor_count, amdsmi_processor_handle *processor_handles) {
  amdsmi_status_t r = enter("amdsmi_get_processor_handles");
  if (r) return r;
  struct gpu *s = (struct gpu *)socket_handle;
  if (!initialized) return AMDSMI_STATUS_NOT_INIT;
  if (!processor_count || s < sockets || s >= sockets + gpu_count()) return AMDSMI_STATUS_INVAL;
  if (!processor_handles) { *processor_count = 1; return AMDSMI_STATUS_SUCCESS; }
  if (*processor_count < 1) { *processor_count = 1; return AMDSMI_STATUS_INSUFFICIENT_SIZE; }
  processor_handles[0] = &processors[s->index];
  *processor_count = 1;
  return AMDSMI_STATUS_SUCCESS;
}

#define PROLOGUE(sym) \
  amdsmi_status_t r = enter(sym); \
  if (r) return r; \
  int i = processor_index(processor_handle); \
  if (i < 0) return AMDSMI_STATUS_INVAL;

/* PROLOGUE of a getter that fills the caller's struct `info`: it must be given, and starts zeroed. */
#define INFO_PROLOGUE(sym) \
  PROLOGUE(sym) \
  if (!info) return AMDSMI_STATUS_INVAL; \
  memset(info, 0, sizeof *info);

static uint32_t gpu_u32(int i, const char *field, uint32_t dflt) { return (uint32_t)stub_item_num("gpu", i, field, dflt); }
static const char *or_empty(const char *v) { return v ? v : ""; }

/* gpuN.bdf = 0000:c1:00.0 */
amdsmi_status_t amdsmi_get_gpu_device_bdf(amdsmi_processor_handle processor_handle, amdsmi_bdf_t *bdf) {
  PROLOGUE("amdsmi_get_gpu_device_bdf")
  const char *v = stub_item_get("gpu", i, "bdf");
  unsigned int domain, bus, dev, fn;
  if (!bdf || !v || sscanf(v, "%x:%x:%x.%x", &domain, &bus, &dev, &fn) != 4) return AMDSMI_STATUS_INVAL;
  bdf->as_uint = 0;
  bdf->domain_number = domain;
  bdf->bus_number = bus;
  bdf->device_number = dev;
  bdf->function_number = fn;
  return AMDSMI_STATUS_SUCCESS;
}

amdsmi_status_t amdsmi_get_gpu_device_uuid(amdsmi_processor_handle processor_handle, unsigned int *uuid_length, char *uuid) {
  PROLOGUE("amdsmi_get_gpu_device_uuid")
  const char *v = stub_item_get("gpu", i, "uuid");
  if (!uuid_length || !uuid) return AMDSMI_STATUS_INVAL;
  if (!v) return AMDSMI_STATUS_NOT_SUPPORTED;
  if (*uuid_length < 38 || strlen(v) + 1 > *uuid_length) return AMDSMI_STATUS_INSUFFICIENT_SIZE;
  strcpy(uuid, v);
  *uuid_length = (unsigned int)strlen(v);
  return AMDSMI_STATUS_SUCCESS;
}

amdsmi_status_t amdsmi_get_gpu_asic_info(amdsmi_processor_handle processor_handle, amdsmi_asic_info_t *info) {
  INFO_PROLOGUE("amdsmi_get_gpu_asic_info")
  snprintf(info->market_name, sizeof info->market_name, "%s", or_empty(stub_item_get("gpu", i, "market_name")));
  info->vendor_id = gpu_u32(i, "vendor_id", 0x1002);
  snprintf(info->vendor_name, sizeof info->vendor_name, "%s", "Advanced Micro Devices Inc. [AMD/ATI]");
  info->device_id = stub_item_num("gpu", i, "device_id", 0);
  snprintf(info->asic_serial, sizeof info->asic_serial, "%s", or_empty(stub_item_get("gpu", i, "asic_serial")));
  info->oam_id = 0xFFFF;
  info->num_of_compute_units = gpu_u32(i, "compute_units", 0xFFFFFFFFu);
  info->target_graphics_version = 0xFFFFFFFFFFFFFFFFull;
  return AMDSMI_STATUS_SUCCESS;
}

amdsmi_status_t amdsmi_get_gpu_driver_info(amdsmi_processor_handle processor_handle, amdsmi_driver_info_t *info) {
  INFO_PROLOGUE("amdsmi_get_gpu_driver_info")
  snprintf(info->driver_version, sizeof info->driver_version, "%s", or_empty(stub_get("driver_version")));
  snprintf(info->driver_name, sizeof info->driver_name, "%s", "amdgpu");
  return AMDSMI_STATUS_SUCCESS;
}

amdsmi_status_t amdsmi_get_gpu_vram_usage(amdsmi_processor_handle processor_handle, amdsmi_vram_usage_t *info) {
  INFO_PROLOGUE("amdsmi_get_gpu_vram_usage")
  info->vram_total = gpu_u32(i, "vram_total_mb", 0);
  info->vram_used = gpu_u32(i, "vram_used_mb", 0);
  return AMDSMI_STATUS_SUCCESS;
}

amdsmi_status_t amdsmi_get_gpu_activity(amdsmi_processor_handle processor_handle, amdsmi_engine_usage_t *info) {
  INFO_PROLOGUE("amdsmi_get_gpu_activity")
  info->gfx_activity = gpu_u32(i, "gfx_activity", 0);
  info->umc_activity = gpu_u32(i, "umc_activity", 0);
  return AMDSMI_STATUS_SUCCESS;
}

/* Layout probe for tests: sizeof / offsetof of the structs above, so the TS declarations are checked against C. */
static const struct stub_layout layout[] = {
  STUB_SIZE(amdsmi_asic_info_t), STUB_OFFSET(amdsmi_asic_info_t, device_id), STUB_OFFSET(amdsmi_asic_info_t, asic_serial),
  STUB_SIZE(amdsmi_driver_info_t),
  STUB_SIZE(amdsmi_vram_usage_t),
  STUB_SIZE(amdsmi_engine_usage_t),
};
unsigned long unet_stub_layout(const char *what) { return STUB_LAYOUT_FIND(layout, what); }
