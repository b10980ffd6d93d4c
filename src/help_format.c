/* help_format.c - text layout shared by the generated references of
 * `autorec help`: Markdown table cells and word-wrapped plain text.
 *
 * No global mutable state. */
#include "help.h"

#include <string.h>

/* Writes one cell's text; nothing is allocated. */
void help_md_cell(FILE *f, const char *s) {
    int code = 0;   /* inside a `code span` */
    for (; *s; s++) {
        char c = *s;
        if (c == '`') code = !code;
        if (c == '|') fputs("\\|", f);
        else if (!code && c == '<') fputs("&lt;", f);
        else if (!code && c == '>') fputs("&gt;", f);
        else if (!code && c == '*') fputs("\\*", f);
        else fputc(c, f);
    }
}

/* Writes s wrapped; nothing is allocated.  A word longer than the line
 * gets a line of its own. */
void help_wrap(FILE *f, const char *s, int col, int indent, int width) {
    int first = 1;
    while (*s) {
        while (*s == ' ') s++;
        size_t n = strcspn(s, " ");
        if (n == 0) break;
        if (!first && col + 1 + (int)n > width) {
            fprintf(f, "\n%*s", indent, "");
            col = indent;
        } else if (!first) {
            fputc(' ', f);
            col++;
        }
        fwrite(s, 1, n, f);
        col += (int)n;
        s += n;
        first = 0;
    }
    fputc('\n', f);
}
