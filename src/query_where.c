/* query_where.c - the --where filter grammar (see query.h).
 *
 * A small recursive-descent parser.  Its output SQL contains only column
 * names from the key whitelist, the fixed operators, AND/OR/NOT,
 * parentheses and `?` placeholders; every literal goes to the bound values.
 * Anything else in the input (';', an unclosed quote, unknown words, a key
 * on the right-hand side, ...) is an error naming its position.
 *
 * No global mutable state. */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "mem.h"
#include "query.h"

#define WHERE_MAX_DEPTH 32
#define WHERE_HINT "a filter is KEY OP VALUE joined by and/or, e.g. " \
                   "\"hidden >= 300 and lr < 0.005\""

typedef enum { T_END, T_WORD, T_NUM, T_STR, T_OP, T_LP, T_RP, T_BAD } TokKind;

typedef struct {
    TokKind kind;
    const char *start;   /* in the input */
    size_t len;
} Tok;

typedef struct {
    const char *text;    /* the whole input, for messages */
    const char *p;       /* scan position */
    Tok tok;             /* the current token */
    QFilter *f;
    char *err;
    int depth;
} Parser;

/* Formats a parse error about the current token.  Returns -1. */
static int wp_error(Parser *P, const char *what) {
    size_t col = (size_t)(P->tok.start - P->text) + 1;
    if (P->tok.kind == T_END)
        return err_set(P->err, "--where: %s at the end of \"%s\" (%s)", what,
                       P->text, WHERE_HINT);
    return err_set(P->err, "--where: %s: '%.*s' at position %zu of \"%s\" "
                           "(%s)", what,
                   (int)(P->tok.len > 40 ? 40 : P->tok.len), P->tok.start,
                   col, P->text, WHERE_HINT);
}

/* Appends s (a fixed fragment or a whitelisted column) to the SQL.
 * Returns 0 or -1. */
static int wp_emit(Parser *P, const char *s) {
    QFilter *f = P->f;
    size_t n = strlen(s);
    if (f->len + n + 1 > sizeof f->sql)
        return err_set(P->err, "--where: the filter is too long");
    memcpy(f->sql + f->len, s, n + 1);
    f->len += n;
    return 0;
}

/* Reads the next token into P->tok. */
static void wp_next(Parser *P) {
    const char *p = P->p;
    while (*p == ' ' || *p == '\t' || *p == '\n') p++;
    Tok t = {T_BAD, p, 1};
    unsigned char c = (unsigned char)*p;
    if (c == '\0') {
        t.kind = T_END;
        t.len = 0;
    } else if (c == '(' || c == ')') {
        t.kind = c == '(' ? T_LP : T_RP;
    } else if (c == '=' || c == '<' || c == '>' || c == '!') {
        t.kind = T_OP;
        if (p[1] == '=' || (c == '<' && p[1] == '>')) t.len = 2;
        if (c == '!' && p[1] != '=') t.kind = T_BAD;
    } else if (c == '\'' || c == '"') {
        const char *q = p + 1;
        for (;;) {
            if (*q == '\0') {          /* unclosed: point at the quote */
                t.kind = T_BAD;
                break;
            }
            if (*q == (char)c) {
                if (q[1] == (char)c) { q += 2; continue; }   /* doubled */
                t.kind = T_STR;
                t.len = (size_t)(q + 1 - p);
                break;
            }
            q++;
        }
    } else if (isdigit(c) || ((c == '-' || c == '+' || c == '.') &&
                              (isdigit((unsigned char)p[1]) ||
                               (p[1] == '.' &&
                                isdigit((unsigned char)p[2]))))) {
        char *end;
        (void)strtod(p, &end);
        t.kind = T_NUM;
        t.len = (size_t)(end - p);
        /* a number glued to letters (12abc) is not a number */
        if (isalnum((unsigned char)*end) || *end == '_' || *end == '.') {
            t.kind = T_BAD;
            t.len = (size_t)(end - p) + 1;
        }
    } else if (isalpha(c) || c == '_') {
        const char *q = p;
        while (isalnum((unsigned char)*q) || *q == '_' || *q == '.' ||
               *q == '-')
            q++;
        t.kind = T_WORD;
        t.len = (size_t)(q - p);
    }
    P->tok = t;
    P->p = t.start + t.len;
}

/* Is the current token the keyword kw (case-insensitive)? */
static int wp_is(const Parser *P, const char *kw) {
    size_t n = strlen(kw);
    return P->tok.kind == T_WORD && P->tok.len == n &&
           !strncasecmp(P->tok.start, kw, n);
}

/* Adds the current token as the value compared with key k.  Returns 0/-1. */
static int wp_value(Parser *P, const QKey *k) {
    QFilter *f = P->f;
    Tok t = P->tok;
    char buf[64], msg[128];

    if (t.kind != T_NUM && t.kind != T_STR && t.kind != T_WORD)
        return wp_error(P, "expected a value (a number or 'text')");
    if (t.kind == T_WORD && t.len < sizeof buf) {
        memcpy(buf, t.start, t.len);
        buf[t.len] = '\0';
        if (query_key(buf) || !strcasecmp(buf, "and") ||
            !strcasecmp(buf, "or") || !strcasecmp(buf, "not") ||
            !strcasecmp(buf, "like"))
            return wp_error(P, "expected a value, not a key or keyword "
                               "(quote text values)");
    }
    if (f->nvalues >= QUERY_MAX_VALUES)
        return err_set(P->err, "--where: more than %d values",
                       QUERY_MAX_VALUES);
    QValue *v = &f->values[f->nvalues];
    memset(v, 0, sizeof *v);
    if (k->type != QK_TEXT) {
        char *end;
        if (t.kind != T_NUM) {
            snprintf(msg, sizeof msg, "%s takes a number", k->name);
            return wp_error(P, msg);
        }
        if (t.len >= sizeof buf) return wp_error(P, "number too long");
        memcpy(buf, t.start, t.len);
        buf[t.len] = '\0';
        errno = 0;
        long long iv = strtoll(buf, &end, 10);
        if (!*end && !errno) {
            v->type = SQLITE_INTEGER;
            v->i = iv;
        } else {
            errno = 0;
            v->d = strtod(buf, &end);
            if (*end || errno) return wp_error(P, "not a number");
            v->type = SQLITE_FLOAT;
        }
    } else {
        char *copy = mem_alloc(t.len + 1), *o = copy;
        if (!copy) return err_set(P->err, "out of memory reading --where");
        if (t.kind == T_STR) {   /* strip the quotes, undouble inner ones */
            char q = t.start[0];
            for (size_t i = 1; i + 1 < t.len; i++) {
                *o++ = t.start[i];
                if (t.start[i] == q) i++;
            }
        } else {
            memcpy(o, t.start, t.len);
            o += t.len;
        }
        *o = '\0';
        v->type = SQLITE_TEXT;
        v->text = copy;
    }
    f->nvalues++;
    return 0;
}

static int wp_or(Parser *P);

/* primary := '(' expr ')' | 'not' primary | KEY OP VALUE.  Returns 0/-1. */
static int wp_primary(Parser *P) {
    char word[64], names[1024], frag[160];
    const char *op = NULL;
    const QKey *k;

    if (++P->depth > WHERE_MAX_DEPTH) return wp_error(P, "nested too deeply");
    if (P->tok.kind == T_LP) {
        wp_next(P);
        if (wp_emit(P, "(") || wp_or(P)) return -1;
        if (P->tok.kind != T_RP) return wp_error(P, "expected ')'");
        if (wp_emit(P, ")")) return -1;
        wp_next(P);
        P->depth--;
        return 0;
    }
    if (wp_is(P, "not")) {
        wp_next(P);
        if (wp_emit(P, "NOT ") || wp_primary(P)) return -1;
        P->depth--;
        return 0;
    }
    if (P->tok.kind != T_WORD) return wp_error(P, "expected a key");
    if (P->tok.len >= sizeof word) return wp_error(P, "unknown key");
    memcpy(word, P->tok.start, P->tok.len);
    word[P->tok.len] = '\0';
    if (!(k = query_key(word))) {
        query_key_names(names, sizeof names);
        return err_set(P->err, "--where: unknown key '%s' at position %zu "
                               "of \"%s\" (keys: %s)", word,
                       (size_t)(P->tok.start - P->text) + 1, P->text, names);
    }
    wp_next(P);
    if (P->tok.kind == T_OP) {
        static const char *const ops[][2] = {
            {"=", "="}, {"==", "="}, {"!=", "!="}, {"<>", "!="},
            {"<", "<"}, {"<=", "<="}, {">", ">"}, {">=", ">="}};
        for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
            if (strlen(ops[i][0]) == P->tok.len &&
                !strncmp(ops[i][0], P->tok.start, P->tok.len))
                op = ops[i][1];
        if (!op) return wp_error(P, "unknown operator");
    } else if (wp_is(P, "like")) {
        if (k->type != QK_TEXT) {
            snprintf(frag, sizeof frag, "like needs a text key (%s is a "
                     "number)", k->name);
            return wp_error(P, frag);
        }
        op = "LIKE";
    } else {
        return wp_error(P, "expected an operator (= != < <= > >= like)");
    }
    wp_next(P);
    if (wp_value(P, k)) return -1;
    snprintf(frag, sizeof frag, "%s %s ?", k->column, op);
    if (wp_emit(P, frag)) return -1;
    wp_next(P);
    P->depth--;
    return 0;
}

/* and := primary ('and' primary)*.  Returns 0/-1. */
static int wp_and(Parser *P) {
    if (wp_primary(P)) return -1;
    while (wp_is(P, "and")) {
        wp_next(P);
        if (wp_emit(P, " AND ") || wp_primary(P)) return -1;
    }
    return 0;
}

/* expr := and ('or' and)*.  Returns 0/-1. */
static int wp_or(Parser *P) {
    if (wp_and(P)) return -1;
    while (wp_is(P, "or")) {
        wp_next(P);
        if (wp_emit(P, " OR ") || wp_and(P)) return -1;
    }
    return 0;
}

/* See query.h.  The whole expression is parenthesised and ANDed with what
 * f already holds. */
int query_where_parse(QFilter *f, const char *text, char *err) {
    assert(f && text);
    Parser P = {text, text, {T_END, text, 0}, f, err, 0};
    wp_next(&P);
    if (P.tok.kind == T_END)
        return err_set(err, "--where: empty filter (%s)", WHERE_HINT);
    if (wp_emit(&P, f->len ? " AND (" : "(") || wp_or(&P)) return -1;
    if (P.tok.kind == T_BAD && P.tok.start[0] == '\'')
        return wp_error(&P, "unclosed quote");
    if (P.tok.kind != T_END)
        return wp_error(&P, P.tok.kind == T_RP ? "unbalanced ')'"
                                               : "unexpected text");
    return wp_emit(&P, ")");
}
