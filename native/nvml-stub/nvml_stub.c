/*
 * libnvidia-ml.so.1 stub: the subset of the NVML C ABI that unet calls, with struct layouts as in
 * NVIDIA's nvml.h (API version 12). It returns data from a key=value file named by
 * UNET_NVML_STUB_CONFIG (see native/nvml-stub/README.md), so CI exercises the real koffi bindings,
 * struct marshalling and call sequences without a GPU. Every call appends its symbol name to the file
 * named by UNET_NVML_STUB_TRACE (when set); the attestation call also logs the nonce it received.
 * Errors are injected per symbol with `error.<symbol>=<nvmlReturn_t>`. The event calls (Xid and ECC
 * events) replay a queue file named by the `events` key (see README.md), so a test raises an Xid by
 * appending a line to it.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stub_config.h"
#include "stub_layout.h"

typedef int nvmlReturn_t;
#define NVML_SUCCESS 0
#define NVML_ERROR_UNINITIALIZED 1
#define NVML_ERROR_INVALID_ARGUMENT 2
#define NVML_ERROR_NOT_SUPPORTED 3
#define NVML_ERROR_INSUFFICIENT_SIZE 7
#define NVML_ERROR_TIMEOUT 10
#define NVML_ERROR_UNKNOWN 999

#define NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE 32
#define NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE 16
#define NVML_GPU_CERT_CHAIN_SIZE 0x1000
#define NVML_GPU_ATTESTATION_CERT_CHAIN_SIZE 0x1400
#define NVML_CC_GPU_CEC_NONCE_SIZE 0x20
#define NVML_CC_GPU_ATTESTATION_REPORT_SIZE 0x2000
#define NVML_CC_GPU_CEC_ATTESTATION_REPORT_SIZE 0x1000

typedef struct nvmlPciInfo_st {
  char busIdLegacy[NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE];
  unsigned int domain;
  unsigned int bus;
  unsigned int device;
  unsigned int pciDeviceId;
  unsigned int pciSubSystemId;
  char busId[NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE];
} nvmlPciInfo_t;

typedef struct nvmlMemory_st {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
} nvmlMemory_t;

typedef struct nvmlUtilization_st {
  unsigned int gpu;
  unsigned int memory;
} nvmlUtilization_t;

typedef struct nvmlProcessInfo_v2_st {
  unsigned int pid;
  unsigned long long usedGpuMemory;
  unsigned int gpuInstanceId;
  unsigned int computeInstanceId;
} nvmlProcessInfo_t;

typedef struct nvmlConfComputeSystemState_st {
  unsigned int environment;
  unsigned int ccFeature;
  unsigned int devToolsMode;
} nvmlConfComputeSystemState_t;

typedef struct nvmlConfComputeGpuCertificate_st {
  unsigned int certChainSize;
  unsigned int attestationCertChainSize;
  unsigned char certChain[NVML_GPU_CERT_CHAIN_SIZE];
  unsigned char attestationCertChain[NVML_GPU_ATTESTATION_CERT_CHAIN_SIZE];
} nvmlConfComputeGpuCertificate_t;

typedef struct nvmlConfComputeGpuAttestationReport_st {
  unsigned int isCecAttestationReportPresent;
  unsigned int attestationReportSize;
  unsigned int cecAttestationReportSize;
  unsigned char nonce[NVML_CC_GPU_CEC_NONCE_SIZE];
  unsigned char attestationReport[NVML_CC_GPU_ATTESTATION_REPORT_SIZE];
  unsigned char cecAttestationReport[NVML_CC_GPU_CEC_ATTESTATION_REPORT_SIZE];
} nvmlConfComputeGpuAttestationReport_t;

/* A device handle is a pointer to one of these (opaque to callers). */
typedef struct nvmlDevice_st {
  unsigned int index;
} *nvmlDevice_t;

/* nvml.h (API 12 and 13): the event data nvmlEventSetWait_v2 fills. */
typedef struct nvmlEventData_st {
  nvmlDevice_t device;
  unsigned long long eventType;
  unsigned long long eventData;
  unsigned int gpuInstanceId;
  unsigned int computeInstanceId;
} nvmlEventData_t;

#define MAX_GPUS 8
/* nvmlInit_v2 is reference counted, as in NVML: each init needs its shutdown (the agent's event watch
 * holds one while the probes open and close theirs). */
static int initialized = 0;
static struct nvmlDevice_st devices[MAX_GPUS];

/* An event set: the event types registered per device and how many lines of the queue file it has read. */
typedef struct nvmlEventSet_st {
  unsigned long long registered[MAX_GPUS];
  long consumed;
} *nvmlEventSet_t;

const char stub_config_env[] = "UNET_NVML_STUB_CONFIG";
const char stub_trace_env[] = "UNET_NVML_STUB_TRACE";
static nvmlReturn_t enter(const char *symbol) { return (nvmlReturn_t)stub_enter(symbol); }

static unsigned int device_count(void) {
  const char *v = stub_get("device_count");
  unsigned int n = v ? (unsigned int)strtoul(v, NULL, 0) : 0;
  return n > MAX_GPUS ? MAX_GPUS : n;
}

static nvmlReturn_t check_device(nvmlDevice_t d) {
  if (!initialized) return NVML_ERROR_UNINITIALIZED;
  if (d < devices || d >= devices + device_count()) return NVML_ERROR_INVALID_ARGUMENT;
  return NVML_SUCCESS;
}

static nvmlReturn_t copy_string(const char *value, char *out, unsigned int length) {
  if (!out) return NVML_ERROR_INVALID_ARGUMENT;
  if (!value) return NVML_ERROR_NOT_SUPPORTED;
  if (strlen(value) + 1 > length) return NVML_ERROR_INSUFFICIENT_SIZE;
  memcpy(out, value, strlen(value) + 1);
  return NVML_SUCCESS;
}

/* Reads a file into buf (max cap bytes); hex text files (*.hex) are decoded. Returns size or -1. */
static long read_file(const char *path, unsigned char *buf, size_t cap) {
  if (!path) return -1;
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  size_t hexmode = strlen(path) > 4 && strcmp(path + strlen(path) - 4, ".hex") == 0;
  long n = 0;
  int c, hi = -1;
  while ((c = fgetc(f)) != EOF) {
    if (!hexmode) {
      if ((size_t)n >= cap) { fclose(f); return -1; }
      buf[n++] = (unsigned char)c;
      continue;
    }
    int v = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
    if (v < 0) continue;
    if (hi < 0) { hi = v; continue; }
    if ((size_t)n >= cap) { fclose(f); return -1; }
    buf[n++] = (unsigned char)(hi << 4 | v);
    hi = -1;
  }
  fclose(f);
  return n;
}

const char *nvmlErrorString(nvmlReturn_t result) {
  stub_trace("nvmlErrorString", NULL);
  switch (result) {
    case 0: return "Success";
    case 1: return "Uninitialized";
    case 2: return "Invalid Argument";
    case 3: return "Not Supported";
    case 4: return "Insufficient Permissions";
    case 6: return "Not Found";
    case 7: return "Insufficient Size";
    case 9: return "Driver Not Loaded";
    case 12: return "NVML Shared Library Not Found";
    case 15: return "GPU is lost";
    case 18: return "RM has detected an NVML/RM version mismatch.";
    default: return "Unknown Error";
  }
}

nvmlReturn_t nvmlInit_v2(void) {
  nvmlReturn_t r = enter("nvmlInit_v2");
  if (r) return r;
  for (unsigned int i = 0; i < MAX_GPUS; i++) devices[i].index = i;
  initialized++;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlShutdown(void) {
  nvmlReturn_t r = enter("nvmlShutdown");
  if (r) return r;
  if (!initialized) return NVML_ERROR_UNINITIALIZED;
  initialized--;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length) {
  nvmlReturn_t r = enter("nvmlSystemGetDriverVersion");
  if (r) return r;
  if (!initialized) return NVML_ERROR_UNINITIALIZED;
  return copy_string(stub_get("driver_version"), version, length);
}

nvmlReturn_t nvmlSystemGetConfComputeState(nvmlConfComputeSystemState_t *state) {
  nvmlReturn_t r = enter("nvmlSystemGetConfComputeState");
  if (r) return r;
  if (!initialized) return NVML_ERROR_UNINITIALIZED;
  if (!state) return NVML_ERROR_INVALID_ARGUMENT;
  const char *env = stub_get("cc.environment"), *feature = stub_get("cc.feature"), *dev = stub_get("cc.devtools");
  state->environment = env ? (unsigned int)strtoul(env, NULL, 0) : 0;
  state->ccFeature = feature ? (unsigned int)strtoul(feature, NULL, 0) : 0;
  state->devToolsMode = dev ? (unsigned int)strtoul(dev, NULL, 0) : 0;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count) {
  nvmlReturn_t r = enter("nvmlDeviceGetCount_v2");
  if (r) return r;
  if (!initialized) return NVML_ERROR_UNINITIALIZED;
  if (!count) return NVML_ERROR_INVALID_ARGUMENT;
  *count = device_count();
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device) {
  nvmlReturn_t r = enter("nvmlDeviceGetHandleByIndex_v2");
  if (r) return r;
  if (!initialized) return NVML_ERROR_UNINITIALIZED;
  if (!device || index >= device_count()) return NVML_ERROR_INVALID_ARGUMENT;
  *device = &devices[index];
  return NVML_SUCCESS;
}

#define DEVICE_PROLOGUE(sym) \
  nvmlReturn_t r = enter(sym); \
  if (r) return r; \
  if ((r = check_device(device))) return r;

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length) {
  DEVICE_PROLOGUE("nvmlDeviceGetName")
  return copy_string(stub_item_get("gpu", device->index, "name"), name, length);
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid, unsigned int length) {
  DEVICE_PROLOGUE("nvmlDeviceGetUUID")
  return copy_string(stub_item_get("gpu", device->index, "uuid"), uuid, length);
}

nvmlReturn_t nvmlDeviceGetSerial(nvmlDevice_t device, char *serial, unsigned int length) {
  DEVICE_PROLOGUE("nvmlDeviceGetSerial")
  return copy_string(stub_item_get("gpu", device->index, "serial"), serial, length);
}

nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t device, nvmlPciInfo_t *pci) {
  DEVICE_PROLOGUE("nvmlDeviceGetPciInfo_v3")
  if (!pci) return NVML_ERROR_INVALID_ARGUMENT;
  memset(pci, 0, sizeof *pci);
  const char *bus_id = stub_item_get("gpu", device->index, "pci.bus_id");
  if (!bus_id) return NVML_ERROR_NOT_SUPPORTED;
  snprintf(pci->busId, sizeof pci->busId, "%s", bus_id);
  snprintf(pci->busIdLegacy, sizeof pci->busIdLegacy, "%s", bus_id + (strlen(bus_id) > 12 ? strlen(bus_id) - 12 : 0));
  pci->domain = (unsigned int)stub_item_num("gpu", device->index, "pci.domain", 0);
  pci->bus = (unsigned int)stub_item_num("gpu", device->index, "pci.bus", 0);
  pci->device = (unsigned int)stub_item_num("gpu", device->index, "pci.device", 0);
  pci->pciDeviceId = (unsigned int)stub_item_num("gpu", device->index, "pci.device_id", 0);
  pci->pciSubSystemId = (unsigned int)stub_item_num("gpu", device->index, "pci.subsystem_id", 0);
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory) {
  DEVICE_PROLOGUE("nvmlDeviceGetMemoryInfo")
  if (!memory) return NVML_ERROR_INVALID_ARGUMENT;
  memory->total = stub_item_num("gpu", device->index, "memory.total", 0);
  memory->used = stub_item_num("gpu", device->index, "memory.used", 0);
  memory->free = memory->total - memory->used;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device, nvmlUtilization_t *utilization) {
  DEVICE_PROLOGUE("nvmlDeviceGetUtilizationRates")
  if (!utilization) return NVML_ERROR_INVALID_ARGUMENT;
  utilization->gpu = (unsigned int)stub_item_num("gpu", device->index, "utilization.gpu", 0);
  utilization->memory = (unsigned int)stub_item_num("gpu", device->index, "utilization.memory", 0);
  return NVML_SUCCESS;
}

/* gpuN.temperature (°C, NVML_TEMPERATURE_GPU only); absent: NOT_SUPPORTED, as on GPUs without the sensor */
nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, int sensorType, unsigned int *temp) {
  DEVICE_PROLOGUE("nvmlDeviceGetTemperature")
  if (!temp || sensorType != 0) return NVML_ERROR_INVALID_ARGUMENT;
  if (!stub_item_get("gpu", device->index, "temperature")) return NVML_ERROR_NOT_SUPPORTED;
  *temp = (unsigned int)stub_item_num("gpu", device->index, "temperature", 0);
  return NVML_SUCCESS;
}

/* gpuN.power_usage_mw (milliwatts, board power draw); absent: NOT_SUPPORTED */
nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int *power) {
  DEVICE_PROLOGUE("nvmlDeviceGetPowerUsage")
  if (!power) return NVML_ERROR_INVALID_ARGUMENT;
  if (!stub_item_get("gpu", device->index, "power_usage_mw")) return NVML_ERROR_NOT_SUPPORTED;
  *power = (unsigned int)stub_item_num("gpu", device->index, "power_usage_mw", 0);
  return NVML_SUCCESS;
}

/* gpuN.processes = pid:bytes,pid:bytes */
nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device, unsigned int *infoCount, nvmlProcessInfo_t *infos) {
  DEVICE_PROLOGUE("nvmlDeviceGetComputeRunningProcesses_v3")
  if (!infoCount) return NVML_ERROR_INVALID_ARGUMENT;
  const char *list = stub_item_get("gpu", device->index, "processes");
  unsigned int n = 0;
  nvmlProcessInfo_t found[64];
  if (list) {
    const char *p = list;
    while (*p && n < 64) {
      char *end;
      found[n].pid = (unsigned int)strtoul(p, &end, 10);
      found[n].usedGpuMemory = (*end == ':') ? strtoull(end + 1, &end, 10) : 0;
      found[n].gpuInstanceId = 0xFFFFFFFFu;
      found[n].computeInstanceId = 0xFFFFFFFFu;
      n++;
      p = (*end == ',') ? end + 1 : end;
      if (*end != ',') break;
    }
  }
  if (*infoCount < n) {
    *infoCount = n;
    return NVML_ERROR_INSUFFICIENT_SIZE;
  }
  if (n && !infos) return NVML_ERROR_INVALID_ARGUMENT;
  memcpy(infos, found, n * sizeof *found);
  *infoCount = n;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetConfComputeGpuCertificate(nvmlDevice_t device, nvmlConfComputeGpuCertificate_t *cert) {
  DEVICE_PROLOGUE("nvmlDeviceGetConfComputeGpuCertificate")
  if (!cert) return NVML_ERROR_INVALID_ARGUMENT;
  memset(cert, 0, sizeof *cert);
  long n = read_file(stub_item_get("gpu", device->index, "attestation_cert_chain"), cert->attestationCertChain, sizeof cert->attestationCertChain);
  if (n < 0) return NVML_ERROR_NOT_SUPPORTED;
  cert->attestationCertChainSize = (unsigned int)n;
  long m = read_file(stub_item_get("gpu", device->index, "cert_chain"), cert->certChain, sizeof cert->certChain);
  cert->certChainSize = m < 0 ? 0 : (unsigned int)m;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetConfComputeGpuAttestationReport(nvmlDevice_t device, nvmlConfComputeGpuAttestationReport_t *report) {
  nvmlReturn_t r;
  char hex[2 * NVML_CC_GPU_CEC_NONCE_SIZE + 1];
  if (report) {
    for (int i = 0; i < NVML_CC_GPU_CEC_NONCE_SIZE; i++) sprintf(hex + 2 * i, "%02x", report->nonce[i]);
    stub_trace("nvmlDeviceGetConfComputeGpuAttestationReport", hex);
  } else {
    stub_trace("nvmlDeviceGetConfComputeGpuAttestationReport", NULL);
  }
  if ((r = (nvmlReturn_t)stub_injected_error("nvmlDeviceGetConfComputeGpuAttestationReport"))) return r;
  if ((r = check_device(device))) return r;
  if (!report) return NVML_ERROR_INVALID_ARGUMENT;
  /* A recorded report cannot echo the caller's nonce: the recorded bytes are returned as they are. */
  long n = read_file(stub_item_get("gpu", device->index, "attestation_report"), report->attestationReport, sizeof report->attestationReport);
  if (n < 0) return NVML_ERROR_NOT_SUPPORTED;
  report->attestationReportSize = (unsigned int)n;
  report->isCecAttestationReportPresent = 0;
  report->cecAttestationReportSize = 0;
  return NVML_SUCCESS;
}

/* gpuN.event_types = the mask nvmlDeviceGetSupportedEventTypes answers; absent: NOT_SUPPORTED (as on a
 * GPU or platform without events) */
nvmlReturn_t nvmlDeviceGetSupportedEventTypes(nvmlDevice_t device, unsigned long long *eventTypes) {
  DEVICE_PROLOGUE("nvmlDeviceGetSupportedEventTypes")
  if (!eventTypes) return NVML_ERROR_INVALID_ARGUMENT;
  if (!stub_item_get("gpu", device->index, "event_types")) return NVML_ERROR_NOT_SUPPORTED;
  *eventTypes = stub_item_num("gpu", device->index, "event_types", 0);
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlEventSetCreate(nvmlEventSet_t *set) {
  nvmlReturn_t r = enter("nvmlEventSetCreate");
  if (r) return r;
  if (!initialized) return NVML_ERROR_UNINITIALIZED;
  if (!set) return NVML_ERROR_INVALID_ARGUMENT;
  *set = calloc(1, sizeof **set);
  return *set ? NVML_SUCCESS : NVML_ERROR_UNKNOWN;
}

/* As NVML: a type the device does not support fails the whole call with NOT_SUPPORTED (nothing registered). */
nvmlReturn_t nvmlDeviceRegisterEvents(nvmlDevice_t device, unsigned long long eventTypes, nvmlEventSet_t set) {
  DEVICE_PROLOGUE("nvmlDeviceRegisterEvents")
  if (!set || !eventTypes) return NVML_ERROR_INVALID_ARGUMENT;
  if (!stub_item_get("gpu", device->index, "event_types")) return NVML_ERROR_NOT_SUPPORTED;
  if (eventTypes & ~stub_item_num("gpu", device->index, "event_types", 0)) return NVML_ERROR_NOT_SUPPORTED;
  set->registered[device->index] |= eventTypes;
  return NVML_SUCCESS;
}

/* The next line of the `events` file this set has not read: "<gpu index> <event type> <event data>
 * [gpuInstanceId computeInstanceId]" ('#' comments). 1 = an event for `data`, 0 = none left. */
static int next_event(nvmlEventSet_t set, nvmlEventData_t *data) {
  const char *path = stub_get("events");
  FILE *f = path ? fopen(path, "r") : NULL;
  if (!f) return 0;
  char line[256];
  long n = 0;
  int found = 0;
  while (!found && fgets(line, sizeof line, f)) {
    if (n++ < set->consumed) continue;
    set->consumed = n;
    unsigned int gpu, gi = 0xFFFFFFFFu, ci = 0xFFFFFFFFu;
    unsigned long long type, value;
    if (line[0] == '#' || sscanf(line, "%u %lli %lli %u %u", &gpu, &type, &value, &gi, &ci) < 3) continue;
    /* only what this set registered for a device NVML lists is delivered */
    if (gpu >= device_count() || !(set->registered[gpu] & type)) continue;
    data->device = &devices[gpu];
    data->eventType = type;
    data->eventData = value;
    data->gpuInstanceId = gi;
    data->computeInstanceId = ci;
    found = 1;
  }
  fclose(f);
  return found;
}

/* Returns the next queued event at once; with none, sleeps the whole timeout (like NVML with no event)
 * and answers TIMEOUT. */
nvmlReturn_t nvmlEventSetWait_v2(nvmlEventSet_t set, nvmlEventData_t *data, unsigned int timeoutms) {
  nvmlReturn_t r = enter("nvmlEventSetWait_v2");
  if (r) return r;
  if (!initialized) return NVML_ERROR_UNINITIALIZED;
  if (!set || !data) return NVML_ERROR_INVALID_ARGUMENT;
  if (next_event(set, data)) return NVML_SUCCESS;
  struct timespec ts = {timeoutms / 1000, (long)(timeoutms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
  return next_event(set, data) ? NVML_SUCCESS : NVML_ERROR_TIMEOUT;
}

nvmlReturn_t nvmlEventSetFree(nvmlEventSet_t set) {
  nvmlReturn_t r = enter("nvmlEventSetFree");
  if (r) return r;
  if (!initialized) return NVML_ERROR_UNINITIALIZED;
  free(set);
  return NVML_SUCCESS;
}

/* Layout probe for tests: sizeof / offsetof of the structs above, so the TS declarations are checked against C. */
static const struct stub_layout layout[] = {
  STUB_SIZE(nvmlPciInfo_t), STUB_OFFSET(nvmlPciInfo_t, busId), STUB_OFFSET(nvmlPciInfo_t, pciDeviceId),
  STUB_SIZE(nvmlMemory_t),
  STUB_SIZE(nvmlUtilization_t),
  STUB_SIZE(nvmlProcessInfo_t), STUB_OFFSET(nvmlProcessInfo_t, usedGpuMemory),
  STUB_SIZE(nvmlConfComputeSystemState_t),
  STUB_SIZE(nvmlConfComputeGpuCertificate_t), STUB_OFFSET(nvmlConfComputeGpuCertificate_t, attestationCertChain),
  STUB_SIZE(nvmlConfComputeGpuAttestationReport_t), STUB_OFFSET(nvmlConfComputeGpuAttestationReport_t, nonce),
    STUB_OFFSET(nvmlConfComputeGpuAttestationReport_t, attestationReport),
  STUB_SIZE(nvmlEventData_t), STUB_OFFSET(nvmlEventData_t, eventType), STUB_OFFSET(nvmlEventData_t, eventData),
    STUB_OFFSET(nvmlEventData_t, gpuInstanceId), STUB_OFFSET(nvmlEventData_t, computeInstanceId),
};
unsigned long unet_stub_layout(const char *what) { return STUB_LAYOUT_FIND(layout, what); }
