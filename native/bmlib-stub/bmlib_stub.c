/*
 * libbmlib.so stub: the subset of Sophgo's bmlib C ABI (bmlib_runtime.h, as vendored in
 * utnet-org/uminer bm_chip/bmlib/include) that unet calls, for CI without a BM1684 card.
 * Chips are described by a key=value file named by UNET_BMLIB_STUB_CONFIG (see README.md).
 * bmcpu_gen_sign signs the caller's digest with RSA PKCS#1 v1.5 / SHA-256 DigestInfo (what the chip
 * does with its EFUSE-derived key) using chipN.key, a PEM private key that stands in for the chip,
 * and only when the p2 blob passed in equals chipN.p2 (the chip's encrypted private key).
 * Every call is appended to UNET_BMLIB_STUB_TRACE (when set); errors are injected with error.<symbol>.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stub_config.h"
#include "stub_layout.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

typedef enum {
  BM_SUCCESS = 0,
  BM_ERR_DEVNOTREADY = 1,
  BM_ERR_FAILURE = 2,
  BM_ERR_TIMEOUT = 3,
  BM_ERR_PARAM = 4,
  BM_ERR_NOMEM = 5,
  BM_ERR_DATA = 6,
  BM_ERR_BUSY = 7,
  BM_ERR_NOFEATURE = 8,
  BM_NOT_SUPPORTED = 9
} bm_status_t;

struct bm_context { int devid; };
typedef struct bm_context *bm_handle_t;

struct bm_heap_stat {
  unsigned int mem_total;
  unsigned int mem_avail;
  unsigned int mem_used;
};

typedef struct bm_dev_stat {
  int mem_total;
  int mem_used;
  int tpu_util;
  int heap_num;
  struct bm_heap_stat heap_stat[4];
} bm_dev_stat_t;

struct bm_misc_info {
  int pcie_soc_mode;
  int ddr_ecc_enable;
  long long ddr0a_size;
  long long ddr0b_size;
  long long ddr1_size;
  long long ddr2_size;
  unsigned int chipid;
  unsigned long chipid_bit_mask;
  unsigned int driver_version;
  int domain_bdf;
  int board_version;
  int a53_enable;
};

#define MAX_CHIPS 16
const char stub_config_env[] = "UNET_BMLIB_STUB_CONFIG";
const char stub_trace_env[] = "UNET_BMLIB_STUB_TRACE";
static bm_status_t enter(const char *symbol) { return (bm_status_t)stub_enter(symbol); }

static int chip_count(void) {
  const char *v = stub_get("device_count");
  int n = v ? atoi(v) : 0;
  return n > MAX_CHIPS ? MAX_CHIPS : n < 0 ? 0 : n;
}

static long read_file(const char *path, unsigned char *buf, size_t cap) {
  if (!path) return -1;
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  size_t n = fread(buf, 1, cap, f);
  int more = fgetc(f) != EOF;
  fclose(f);
  return more ? -1 : (long)n;
}

bm_status_t bm_dev_getcount(int *count) {
  bm_status_t r = enter("bm_dev_getcount");
  if (r) return r;
  if (!count) return BM_ERR_PARAM;
  *count = chip_count();
  return BM_SUCCESS;
}

bm_status_t bm_dev_request(bm_handle_t *handle, int devid) {
  bm_status_t r = enter("bm_dev_request");
  if (r) return r;
  if (!handle || devid < 0 || devid >= chip_count()) return BM_ERR_DEVNOTREADY;
  struct bm_context *ctx = calloc(1, sizeof *ctx);
  if (!ctx) return BM_ERR_NOMEM;
  ctx->devid = devid;
  *handle = ctx;
  return BM_SUCCESS;
}

void bm_dev_free(bm_handle_t handle) {
  stub_trace("bm_dev_free", NULL);
  free(handle);
}

bm_status_t bm_get_chipid(bm_handle_t handle, unsigned int *p_chipid) {
  bm_status_t r = enter("bm_get_chipid");
  if (r) return r;
  if (!handle || !p_chipid) return BM_ERR_PARAM;
  *p_chipid = (unsigned int)stub_item_num("chip", handle->devid, "chipid", 0x1684);
  return BM_SUCCESS;
}

/* The real call copies the board serial (a short ASCII string) into sn; callers pass a generous buffer. */
bm_status_t bm_get_sn(bm_handle_t handle, char *sn) {
  bm_status_t r = enter("bm_get_sn");
  if (r) return r;
  if (!handle || !sn) return BM_ERR_PARAM;
  const char *v = stub_item_get("chip", handle->devid, "sn");
  if (!v) return BM_NOT_SUPPORTED;
  snprintf(sn, 32, "%s", v);
  return BM_SUCCESS;
}

bm_status_t bm_get_stat(bm_handle_t handle, bm_dev_stat_t *stat) {
  bm_status_t r = enter("bm_get_stat");
  if (r) return r;
  if (!handle) return BM_ERR_DEVNOTREADY;
  if (!stat) return BM_ERR_PARAM;
  memset(stat, 0, sizeof *stat);
  stat->mem_total = (int)stub_item_num("chip", handle->devid, "mem_total_mb", 0);
  stat->mem_used = (int)stub_item_num("chip", handle->devid, "mem_used_mb", 0);
  stat->tpu_util = (int)stub_item_num("chip", handle->devid, "tpu_util", 0);
  stat->heap_num = 1;
  stat->heap_stat[0].mem_total = (unsigned int)stat->mem_total;
  stat->heap_stat[0].mem_used = (unsigned int)stat->mem_used;
  stat->heap_stat[0].mem_avail = (unsigned int)(stat->mem_total - stat->mem_used);
  return BM_SUCCESS;
}

/* chipN.domain_bdf = domain<<16 | bus<<8 | dev<<3 | fn (as bm-smi prints it); driver_version = major<<16|minor<<8|patch */
bm_status_t bm_get_misc_info(bm_handle_t handle, struct bm_misc_info *info) {
  bm_status_t r = enter("bm_get_misc_info");
  if (r) return r;
  if (!handle || !info) return BM_ERR_PARAM;
  memset(info, 0, sizeof *info);
  info->pcie_soc_mode = 0;
  info->chipid = (unsigned int)stub_item_num("chip", handle->devid, "chipid", 0x1684);
  info->chipid_bit_mask = info->chipid == 0x1686 ? (1UL << 2) : (1UL << 1);
  info->driver_version = (unsigned int)strtoul(stub_get("driver_version") ? stub_get("driver_version") : "0", NULL, 0);
  info->domain_bdf = (int)stub_item_num("chip", handle->devid, "domain_bdf", 0);
  info->board_version = (int)stub_item_num("chip", handle->devid, "board_version", 0);
  return BM_SUCCESS;
}

/* Returns the chip's p2 blob and PEM public key (as the miner stores them in key/p2_N, key/pubkey_N). */
bm_status_t bmcpu_gen_p2_pubkey(bm_handle_t handle, unsigned char *p2, unsigned int *size_p2, unsigned char *pubkey, unsigned int *size_pubkey) {
  bm_status_t r = enter("bmcpu_gen_p2_pubkey");
  if (r) return r;
  if (!handle || !p2 || !size_p2 || !pubkey || !size_pubkey) return BM_ERR_PARAM;
  long n = read_file(stub_item_get("chip", handle->devid, "p2"), p2, *size_p2);
  long m = read_file(stub_item_get("chip", handle->devid, "pubkey"), pubkey, *size_pubkey);
  if (n < 0 || m < 0) return BM_ERR_FAILURE;
  *size_p2 = (unsigned int)n;
  *size_pubkey = (unsigned int)m;
  return BM_SUCCESS;
}

bm_status_t bmcpu_gen_sign(bm_handle_t handle, unsigned char *signature, unsigned int *size_signature,
                           unsigned char *digest, unsigned int size_digest, unsigned char *p2, unsigned int size_p2) {
  bm_status_t r = enter("bmcpu_gen_sign");
  if (r) return r;
  if (!handle || !signature || !size_signature || !digest || !p2 || size_digest > 0x10000 || size_p2 > 0x1000) return BM_ERR_PARAM;
  if (size_digest != 32) return BM_ERR_PARAM;
  unsigned char expected[0x1000];
  long n = read_file(stub_item_get("chip", handle->devid, "p2"), expected, sizeof expected);
  if (n < 0 || (unsigned int)n != size_p2 || memcmp(expected, p2, size_p2) != 0) return BM_ERR_FAILURE; /* wrong p2: the chip cannot decrypt its key */
  const char *key_path = stub_item_get("chip", handle->devid, "key");
  FILE *kf = key_path ? fopen(key_path, "r") : NULL;
  if (!kf) return BM_ERR_FAILURE;
  EVP_PKEY *pkey = PEM_read_PrivateKey(kf, NULL, NULL, NULL);
  fclose(kf);
  if (!pkey) return BM_ERR_FAILURE;
  bm_status_t status = BM_ERR_FAILURE;
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
  size_t siglen = (size_t)EVP_PKEY_get_size(pkey);
  if (ctx && EVP_PKEY_sign_init(ctx) > 0 && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 &&
      EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) > 0 && EVP_PKEY_sign(ctx, signature, &siglen, digest, size_digest) > 0) {
    *size_signature = (unsigned int)siglen;
    status = BM_SUCCESS;
  }
  EVP_PKEY_CTX_free(ctx);
  EVP_PKEY_free(pkey);
  return status;
}

/* Layout probe for tests; bm_misc_info is a struct tag, so its rows name it without "struct". */
static const struct stub_layout layout[] = {
  STUB_SIZE(bm_dev_stat_t), STUB_OFFSET(bm_dev_stat_t, heap_stat),
  {"bm_misc_info", sizeof(struct bm_misc_info)}, {"bm_misc_info.driver_version", offsetof(struct bm_misc_info, driver_version)},
    {"bm_misc_info.domain_bdf", offsetof(struct bm_misc_info, domain_bdf)},
};
unsigned long unet_stub_layout(const char *what) { return STUB_LAYOUT_FIND(layout, what); }
