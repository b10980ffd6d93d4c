/* serve_layout.c - the frame shared by the dashboard's pages (head,
 * navigation, footer), error replies and status colours (see serve.h). */
#include <string.h>

#include "serve.h"

void serve_page_begin(SBuf *b, const char *title, const char *active,
                      int live) {
    static const struct { const char *key, *href, *label; } nav[] = {
        {"experiments", "/", "Experiments"},
        {"runs", "/runs", "Runs"},
    };
    sb_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
               "<meta name=\"viewport\" content=\"width=device-width, "
               "initial-scale=1\"><title>");
    sb_html(b, title);
    sb_puts(b, " - autorec</title>"
               "<link rel=\"stylesheet\" href=\"/static/dygraph.min.css\">"
               "<link rel=\"stylesheet\" href=\"/static/style.css\">"
               "<script src=\"/static/dygraph.min.js\" defer></script>"
               "<script src=\"/static/app.js\" defer></script>"
               "</head>\n<body");
    if (live) sb_puts(b, " data-live=\"1\"");
    sb_puts(b, "><header><nav><a class=\"brand\" href=\"/\">autorec</a>");
    for (size_t i = 0; i < sizeof nav / sizeof nav[0]; i++) {
        sb_printf(b, "<a href=\"%s\"%s>%s</a>", nav[i].href,
                  active && !strcmp(active, nav[i].key)
                      ? " aria-current=\"page\"" : "",
                  nav[i].label);
    }
    sb_puts(b, "<span id=\"live\" class=\"live\" aria-live=\"polite\">"
               "</span></nav></header>\n<main>\n<h1>");
    sb_html(b, title);
    sb_puts(b, "</h1>\n");
}

void serve_page_end(SBuf *b) {
    sb_puts(b, "</main>\n</body></html>\n");
}

void serve_status_class(SBuf *b, const char *status) {
    static const char *const known[] = {"running", "finished", "failed",
                                        "interrupted", "diverged"};
    for (size_t i = 0; status && i < sizeof known / sizeof known[0]; i++)
        if (!strcmp(status, known[i])) {
            sb_printf(b, "st-%s", known[i]);
            return;
        }
    sb_puts(b, "st-other");
}

int serve_error(ServeReply *rep, int status, int json, const char *msg) {
    sb_free(&rep->body);
    rep->data = NULL;
    rep->file = NULL;
    rep->cache = 0;
    rep->status = status;
    if (json) {
        rep->type = "application/json; charset=utf-8";
        sb_puts(&rep->body, "{\"error\": ");
        sb_json_str(&rep->body, msg);
        sb_printf(&rep->body, ", \"status\": %d}\n", status);
        return 0;
    }
    rep->type = "text/html; charset=utf-8";
    serve_page_begin(&rep->body, status == 404 ? "Not found"
                     : status == 400 ? "Bad request" : "Error", NULL, 0);
    sb_puts(&rep->body, "<p class=\"error\" id=\"error\">");
    sb_html(&rep->body, msg);
    sb_puts(&rep->body, "</p>\n");
    serve_page_end(&rep->body);
    return 0;
}
