/* test_serve.c - the dashboard's escaping and buffers (src/serve_escape.c,
 * src/serve_buf.c): every byte users control reaches HTML, JSON and URLs
 * escaped; out of memory is sticky and reported. */
#include <string.h>

#include "mem.h"
#include "serve.h"
#include "test.h"

/* Appends s with fn into a fresh buffer; returns the text (owned). */
static char *esc(void (*fn)(SBuf *, const char *), const char *s) {
    SBuf b = {0};
    fn(&b, s);
    return sb_take(&b);
}

static void test_html_escapes_every_special_character(void) {
    char *t = esc(sb_html, "<script>alert(\"x\")</script> & 'q'");
    CHECK(t && !strcmp(t, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"
                          " &amp; &#39;q&#39;"));
    mem_free(t);
    t = esc(sb_html, "plain text, é");
    CHECK(t && !strcmp(t, "plain text, é"));
    mem_free(t);
    t = esc(sb_html, NULL);
    CHECK(t && !strcmp(t, ""));
    mem_free(t);
}

static void test_json_strings_are_safe_anywhere(void) {
    char *t = esc(sb_json_str, "a\"b\\c\n\t</script>&\x01\x7f");
    CHECK_MSG(t && !strcmp(t, "\"a\\\"b\\\\c\\n\\t\\u003c/script\\u003e"
                              "\\u0026\\u0001\\u007f\""), "%s", t);
    mem_free(t);
    /* U+2028 / U+2029 end lines in older JavaScript */
    t = esc(sb_json_str, "x\xe2\x80\xa8y\xe2\x80\xa9z\xe2\x80\x94");
    CHECK_MSG(t && !strcmp(t, "\"x\\u2028y\\u2029z\xe2\x80\x94\""), "%s", t);
    mem_free(t);
    t = esc(sb_json_str, NULL);
    CHECK(t && !strcmp(t, "null"));
    mem_free(t);
}

static void test_url_encoding_keeps_only_unreserved(void) {
    char *t = esc(sb_url, "a b&c=d/'\"<>?#%~._-Z9");
    CHECK_MSG(t && !strcmp(t, "a%20b%26c%3Dd%2F%27%22%3C%3E%3F%23%25~._-Z9"),
              "%s", t);
    mem_free(t);
}

static void test_json_numbers(void) {
    SBuf b = {0};
    sb_json_real(&b, 0.1);
    sb_puts(&b, ",");
    sb_json_real(&b, NAN);
    sb_puts(&b, ",");
    sb_json_real(&b, INFINITY);
    char *t = sb_take(&b);
    CHECK_MSG(t && !strcmp(t, "0.1,null,null"), "%s", t);
    mem_free(t);
}

static void test_buffer_grows_and_oom_is_sticky(void) {
    SBuf b = {0};
    for (int i = 0; i < 1000; i++) sb_printf(&b, "%04d", i);
    CHECK(b.len == 4000 && !b.oom && !strncmp(b.p + 3996, "0999", 4));
    sb_free(&b);
    sb_puts(&b, "x");
    mem_fail_at(1);
    sb_printf(&b, "%0300d", 7);      /* needs to grow: fails */
    mem_fail_at(0);
    sb_puts(&b, "more");
    CHECK(b.oom && b.p == NULL);
    CHECK(sb_take(&b) == NULL);
    CHECK(!b.oom && b.p == NULL);    /* freed and reset */
    char *t = sb_take(&b);           /* empty: "" */
    CHECK(t && !strcmp(t, ""));
    mem_free(t);
}

void suite_serve(void) {
    RUN(test_html_escapes_every_special_character);
    RUN(test_json_strings_are_safe_anywhere);
    RUN(test_url_encoding_keeps_only_unreserved);
    RUN(test_json_numbers);
    RUN(test_buffer_grows_and_oom_is_sticky);
}
