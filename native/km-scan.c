/*
 * km-scan: a Node-API addon with one function, a substring search for the gateway's usage
 * meter (src/metering/parsers/scan.ts). The meter looks for a short key (`usage`) in every
 * chunk of an AI response stream, so the search runs over every byte the gateway relays.
 *
 *   indexOf(haystack: Uint8Array, needle: Uint8Array, from: number): number
 *
 * Same result as Buffer.prototype.indexOf(needle, from) for from >= 0: the first position
 * at or after `from`, or -1. x86-64 compares the needle's first and last byte at 32 (AVX2)
 * or 16 (SSE2) positions at once and checks the middle only where both match, so ordinary
 * text costs about one vector step per 32 bytes; elsewhere it is memmem(3). `isa` names the
 * path in use.
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
    { "isa", NULL, NULL, NULL, NULL, isa_value, napi_enumerable, NULL },
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
