/*
 * km-scan: a Node-API addon for the gateway's usage meter (src/metering/parsers/scan.ts): a
 * substring search, and the SSE gate's per-chunk scan built on it. The meter looks for a short
 * key (`usage`) in every chunk of an AI response stream, so the search runs over every byte the
 * gateway relays.
 *
 *   indexOf(haystack: Uint8Array, needle: Uint8Array, from: number): number
 *
 * Same result as Buffer.prototype.indexOf(needle, from) for from >= 0: the first position
 * at or after `from`, or -1. x86-64 compares the needle's first and last byte at 32 (AVX2)
 * or 16 (SSE2) positions at once and checks the middle only where both match, so ordinary
 * text costs about one vector step per 32 bytes; elsewhere it is memmem(3). `isa` names the
 * path in use.
 *
 *   gateScan(chunk, key, prev: Uint8Array | null, prevFrom, withCr, out: Int32Array): number
 *
 * The SSE usage gate's (src/metering/parsers/sse-gate.ts) per-chunk questions in one call:
 * returns the first position of `key` in `chunk` (or -1); out[0] = the end of the last event
 * boundary lying wholly in `chunk` (LF LF, and CRLF CRLF or CR CR once `withCr`), or -1;
 * out[1] = 1 when `withCr` was 0, no LF LF was found and `chunk` holds a CR (out[0] is then
 * computed with the CR forms); out[2] = 1 when `key` starts in `prev[prevFrom..]` (the carried
 * bytes) and ends in `chunk`, 0 when not, -1 when `prev` holds fewer than max(3, m - 1) bytes
 * from prevFrom (the caller looks further back itself).
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>

/*
 * One vector search per instruction set: WIDTH positions per step, a candidate where the
 * needle's first byte is at i and its last byte at i + m - 1, then memcmp of the middle.
 */
#define VECTOR_FIND(NAME, ATTR, VEC, WIDTH, SET1, LOAD, CMPEQ, AND, MOVEMASK)                      \
  ATTR static long NAME(const uint8_t *s, size_t n, const uint8_t *k, size_t m) {               \
    const VEC first = SET1((char)k[0]);                                                          \
    const VEC last = SET1((char)k[m - 1]);                                                       \
    size_t i = 0;                                                                                \
    for (; i + m - 1 + WIDTH <= n; i += WIDTH) {                                                 \
      const VEC a = LOAD((const VEC *)(s + i));                                                  \
      const VEC b = LOAD((const VEC *)(s + i + m - 1));                                          \
      uint32_t mask = (uint32_t)MOVEMASK(AND(CMPEQ(first, a), CMPEQ(last, b)));                  \
      while (mask != 0) {                                                                        \
        const unsigned bit = (unsigned)__builtin_ctz(mask);                                      \
        if (memcmp(s + i + bit + 1, k + 1, m - 2) == 0) return (long)(i + bit);                  \
        mask &= mask - 1;                                                                        \
      }                                                                                          \
    }                                                                                            \
    for (; i + m <= n; i++) {                                                                    \
      if (s[i] == k[0] && s[i + m - 1] == k[m - 1] && memcmp(s + i + 1, k + 1, m - 2) == 0) return (long)i; \
    }                                                                                            \
    return -1;                                                                                   \
  }

VECTOR_FIND(find_avx2, __attribute__((target("avx2"))), __m256i, 32, _mm256_set1_epi8, _mm256_loadu_si256, _mm256_cmpeq_epi8, _mm256_and_si256, _mm256_movemask_epi8)
VECTOR_FIND(find_sse2, , __m128i, 16, _mm_set1_epi8, _mm_loadu_si128, _mm_cmpeq_epi8, _mm_and_si128, _mm_movemask_epi8)

static long (*find_vec)(const uint8_t *, size_t, const uint8_t *, size_t);
#endif

/* Position of the first `k[0..m)` in `s[0..n)`, or -1. */
static long find(const uint8_t *s, size_t n, const uint8_t *k, size_t m) {
  if (m == 0) return 0;
  if (m > n) return -1;
  if (m == 1) {
    const uint8_t *p = memchr(s, k[0], n);
    return p ? (long)(p - s) : -1;
  }
#if defined(__x86_64__)
  return find_vec(s, n, k, m);
#else
  const uint8_t *p = memmem(s, n, k, m);
  return p ? (long)(p - s) : -1;
#endif
}

static int bytes_of(napi_env env, napi_value v, const uint8_t **data, size_t *len) {
  napi_typedarray_type type;
  void *p = NULL;
  size_t length = 0;
  if (napi_get_typedarray_info(env, v, &type, &length, &p, NULL, NULL) != napi_ok || type != napi_uint8_array) return 0;
  *data = p;
  *len = length;
  return 1;
}

static napi_value js_index_of(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_value out;
  const uint8_t *s, *k;
  size_t n, m;
  int64_t from = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 || !bytes_of(env, argv[0], &s, &n) || !bytes_of(env, argv[1], &k, &m)) {
    napi_throw_type_error(env, NULL, "indexOf(haystack: Uint8Array, needle: Uint8Array, from?: number)");
    return NULL;
  }
  if (argc >= 3 && napi_get_value_int64(env, argv[2], &from) != napi_ok) from = 0;
  if (from < 0) from = 0;
  long r;
  if ((uint64_t)from > n) r = m == 0 ? (long)n : -1;
  else {
    r = find(s + from, n - (size_t)from, k, m);
    if (r >= 0) r += (long)from;
  }
  napi_create_int64(env, r, &out);
  return out;
}

/* End of the last boundary wholly in s[0..n): the largest e at which LF LF (or CR CR, CRLF CRLF) ends. */
static long last_cut(const uint8_t *s, size_t n, int with_cr) {
  for (size_t e = n; e >= 2; e--) {
    const uint8_t a = s[e - 2], b = s[e - 1];
    if (a == '\n' && b == '\n') return (long)e;
    if (with_cr && a == '\r' && b == '\r') return (long)e;
    if (with_cr && e >= 4 && a == '\r' && b == '\n' && s[e - 4] == '\r' && s[e - 3] == '\n') return (long)e;
  }
  return -1;
}

/* Does k[0..m) start in the last bytes of p[0..pn) and end in c[0..cn)? */
static int straddles(const uint8_t *p, size_t pn, const uint8_t *c, size_t cn, const uint8_t *k, size_t m) {
  for (size_t s = 1; s < m; s++) {
    if (s > pn || m - s > cn) continue;
    if (memcmp(p + pn - s, k, s) == 0 && memcmp(c, k + s, m - s) == 0) return 1;
  }
  return 0;
}

static napi_value js_gate_scan(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_value out_value;
  const uint8_t *s, *k, *p = NULL;
  size_t n, m, pn = 0;
  int64_t from = 0;
  int32_t with_cr = 0;
  napi_valuetype prev_type = napi_undefined;
  napi_typedarray_type out_type;
  size_t out_len = 0;
  void *out_data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 6 || !bytes_of(env, argv[0], &s, &n) || !bytes_of(env, argv[1], &k, &m) || m == 0 ||
      napi_typeof(env, argv[2], &prev_type) != napi_ok || (prev_type != napi_null && !bytes_of(env, argv[2], &p, &pn)) ||
      napi_get_value_int64(env, argv[3], &from) != napi_ok || napi_get_value_int32(env, argv[4], &with_cr) != napi_ok ||
      napi_get_typedarray_info(env, argv[5], &out_type, &out_len, &out_data, NULL, NULL) != napi_ok || out_type != napi_int32_array || out_len < 3 ||
      n > INT32_MAX) {
    napi_throw_type_error(env, NULL, "gateScan(chunk: Uint8Array (< 2 GiB), key: Uint8Array, prev: Uint8Array | null, prevFrom: number, withCr: number, out: Int32Array(3))");
    return NULL;
  }
  int32_t *out = out_data;
  long last = last_cut(s, n, with_cr != 0);
  out[1] = 0;
  if (last < 0 && !with_cr && memchr(s, '\r', n) != NULL) {
    out[1] = 1;
    last = last_cut(s, n, 1);
  }
  out[0] = (int32_t)last;
  if (prev_type == napi_null) out[2] = 0;
  else {
    if (from < 0) from = 0;
    const size_t rest = (uint64_t)from >= pn ? 0 : pn - (size_t)from;
    const size_t reach = m - 1 > 3 ? m - 1 : 3;
    out[2] = rest < reach ? -1 : straddles(p + pn - rest, rest, s, n, k, m);
  }
  napi_create_int64(env, find(s, n, k, m), &out_value);
  return out_value;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
#if defined(__x86_64__)
  /* KM_SCAN_ISA=sse2 keeps the baseline path (how the tests reach it on AVX2 machines). */
  const char *want = getenv("KM_SCAN_ISA");
  __builtin_cpu_init();
  const int avx2 = __builtin_cpu_supports("avx2") && !(want && strcmp(want, "sse2") == 0);
  find_vec = avx2 ? find_avx2 : find_sse2;
  const char *isa = avx2 ? "avx2" : "sse2";
#else
  const char *isa = "memmem";
#endif
  napi_value isa_value;
  napi_create_string_utf8(env, isa, NAPI_AUTO_LENGTH, &isa_value);
  napi_property_descriptor props[] = {
    { "indexOf", NULL, js_index_of, NULL, NULL, NULL, napi_enumerable, NULL },
    { "gateScan", NULL, js_gate_scan, NULL, NULL, NULL, napi_enumerable, NULL },
    { "isa", NULL, NULL, NULL, NULL, isa_value, napi_enumerable, NULL },
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
