/* monitor._textfold: the text fold and the word form of monitor/normalize.py in one C pass each.
 *
 * The Python code in monitor/normalize.py and monitor/wordform.py is the reference and the
 * fallback; these functions give the same strings, character for character (tests/test_textfold.py
 * compares them). They exist because the fold and the collapse of space runs ran at 20-100 MB/s in
 * Python and bounded the scan and the retro-hunt.
 *
 * The text is attacker-written: every index stays within the string's length, and every
 * error (no memory, a fold rule that raises or returns other than one character) raises.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <string.h>

#define JOIN 0x00
#define SPACE 0x20
/* The cache of non-Latin-1 folds: one page of 256 code points per 256-aligned block, allocated
 * on first use. 0x110000 code points make 4352 pages. */
#define PAGE_BITS 8
#define PAGE_SIZE (1 << PAGE_BITS)
#define NPAGES (0x110000 >> PAGE_BITS)
#define UNKNOWN 0xFFFFFFFFu

#if PY_VERSION_HEX < 0x030C0000
#define READY(s) PyUnicode_READY(s)
#else
#define READY(s) 0
#endif

/* The largest code point a canonical str of this kind holds (PyUnicode_MAX_CHAR_VALUE's values). */
static Py_UCS4
kind_max(Py_UCS4 m)
{
    return m < 0x80 ? 0x7F : m < 0x100 ? 0xFF : m < 0x10000 ? 0xFFFF : 0x10FFFF;
}

/* A str written in a buffer of a wider kind than its characters need is not a valid str
 * (equality compares kinds first): rebuild it in the narrowest kind. Steals `out`. */
static PyObject *
canonical(PyObject *out, Py_UCS4 m)
{
    if (kind_max(m) == PyUnicode_MAX_CHAR_VALUE(out)) {
        return out;
    }
    PyObject *res = PyUnicode_FromKindAndData(PyUnicode_KIND(out), PyUnicode_DATA(out),
                                              PyUnicode_GET_LENGTH(out));
    Py_DECREF(out);
    return res;
}

static PyObject *
check_str(PyObject *text)
{
    if (!PyUnicode_Check(text)) {
        PyErr_Format(PyExc_TypeError, "expected str, not %.100s", Py_TYPE(text)->tp_name);
        return NULL;
    }
    if (READY(text) < 0) {
        return NULL;
    }
    return text;
}

/* ------------------------------------------------------------------ FoldTable */

typedef struct {
    PyObject_HEAD
    PyObject *table_obj;          /* the 256-byte Latin-1 table (bytes) */
    PyObject *rule;               /* str -> str of one character, for code points >= 256 */
    unsigned char table[256];
    Py_ssize_t npages;            /* pages allocated */
    Py_ssize_t max_pages;         /* when a new page would pass this, the cache starts afresh */
    Py_UCS4 *pages[NPAGES];       /* folded code point, or UNKNOWN */
} FoldTable;

static void
clear_pages(FoldTable *self)
{
    for (Py_ssize_t i = 0; i < NPAGES; i++) {
        if (self->pages[i] != NULL) {
            PyMem_Free(self->pages[i]);
            self->pages[i] = NULL;
        }
    }
    self->npages = 0;
}

/* The fold of c (>= 256) by the rule, stored in the cache. The rule is Python code: while it
 * runs another thread may fold with this table and fill or empty the cache, so no page pointer
 * is held across the call. Returns -1 with an exception set. */
static int
fill(FoldTable *self, Py_UCS4 c, Py_UCS4 *out)
{
    PyObject *ch = PyUnicode_FromOrdinal((int)c);
    if (ch == NULL) {
        return -1;
    }
    PyObject *r = PyObject_CallOneArg(self->rule, ch);
    Py_DECREF(ch);
    if (r == NULL) {
        return -1;
    }
    if (!PyUnicode_Check(r) || READY(r) < 0 || PyUnicode_GET_LENGTH(r) != 1) {
        if (!PyErr_Occurred()) {
            PyErr_Format(PyExc_TypeError, "fold rule returned %R for U+%04X: not one character", r,
                         (unsigned int)c);
        }
        Py_DECREF(r);
        return -1;
    }
    Py_UCS4 v = PyUnicode_READ_CHAR(r, 0);
    Py_DECREF(r);
    Py_UCS4 *page = self->pages[c >> PAGE_BITS];
    if (page == NULL) {
        /* Bounded: a page full of distinct code points must not grow memory forever. */
        if (self->npages >= self->max_pages) {
            clear_pages(self);
        }
        page = PyMem_Malloc(PAGE_SIZE * sizeof(Py_UCS4));
        if (page == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        memset(page, 0xFF, PAGE_SIZE * sizeof(Py_UCS4));   /* every entry UNKNOWN */
        self->pages[c >> PAGE_BITS] = page;
        self->npages++;
    }
    page[c & (PAGE_SIZE - 1)] = v;
    *out = v;
    return 0;
}

/* One loop per pair of kinds (text's, out's), so that the compiler sees fixed-width reads and
 * writes instead of a switch on the kind at every character. Leaves i at the character it
 * stopped on: n when done, earlier on an error (r = -1) or a fold wider than DST (r = 1). */
#define FOLD_LOOP(SRC, DST, LIMIT)                                                  \
    do {                                                                            \
        const SRC *s_ = (const SRC *)src;                                           \
        DST *d_ = (DST *)dst;                                                       \
        for (; i < n; i++) {                                                        \
            Py_UCS4 c = s_[i], v;                                                   \
            if (c < 256) {                                                          \
                v = self->table[c];                                                 \
            }                                                                       \
            else {                                                                  \
                const Py_UCS4 *page = self->pages[c >> PAGE_BITS];                  \
                if (page == NULL || (v = page[c & (PAGE_SIZE - 1)]) == UNKNOWN) {   \
                    if (fill(self, c, &v) < 0) {                                    \
                        r = -1;                                                     \
                        break;                                                      \
                    }                                                               \
                }                                                                   \
                if (v > (LIMIT)) {                                                  \
                    r = 1;                                                          \
                    break;                                                          \
                }                                                                   \
            }                                                                       \
            d_[i] = (DST)v;                                                         \
            if (v > m) {                                                            \
                m = v;                                                              \
            }                                                                       \
        }                                                                           \
    } while (0)

/* Fold `text` into `out` (same length, a kind at least as wide as text's).
 * 0: done, *maxc the largest code point written (for 1-byte text, its bits OR-ed: only
 * whether it reaches 0x80 matters); 1: a fold is wider than out's kind; -1: error. */
static int
fold_into(FoldTable *self, PyObject *text, PyObject *out, Py_UCS4 *maxc)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), i = 0;
    int kind = PyUnicode_KIND(text), out_kind = PyUnicode_KIND(out), r = 0;
    const void *src = PyUnicode_DATA(text);
    void *dst = PyUnicode_DATA(out);
    Py_UCS4 m = 0;

    if (kind == PyUnicode_1BYTE_KIND && out_kind == PyUnicode_1BYTE_KIND) {
        /* Latin-1 text: the table alone. */
        const Py_UCS1 *s_ = src;
        Py_UCS1 *d_ = dst;
        const unsigned char *t = self->table;
        unsigned int bits = 0;
        for (; i < n; i++) {
            unsigned char v = t[s_[i]];
            d_[i] = v;
            bits |= v;
        }
        m = bits;
    }
    else if (kind == PyUnicode_2BYTE_KIND && out_kind == PyUnicode_2BYTE_KIND) {
        FOLD_LOOP(Py_UCS2, Py_UCS2, 0xFFFF);
    }
    else if (kind == PyUnicode_2BYTE_KIND && out_kind == PyUnicode_4BYTE_KIND) {
        FOLD_LOOP(Py_UCS2, Py_UCS4, 0x10FFFF);
    }
    else if (kind == PyUnicode_4BYTE_KIND && out_kind == PyUnicode_4BYTE_KIND) {
        FOLD_LOOP(Py_UCS4, Py_UCS4, 0x10FFFF);
    }
    else {
        PyErr_SetString(PyExc_SystemError, "fold: unexpected kinds");
        return -1;
    }
    *maxc = m;
    return r;
}

static PyObject *
FoldTable_translate(FoldTable *self, PyObject *text)
{
    if (check_str(text) == NULL) {
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    Py_UCS4 m = 0;
    PyObject *out = PyUnicode_New(n, PyUnicode_MAX_CHAR_VALUE(text));
    if (out == NULL) {
        return NULL;
    }
    int done = fold_into(self, text, out, &m);
    if (done == 1) {
        /* A fold outside the text's kind (a rule mapping a BMP character to an astral one). */
        Py_DECREF(out);
        out = PyUnicode_New(n, 0x10FFFF);
        if (out == NULL) {
            return NULL;
        }
        done = fold_into(self, text, out, &m);
    }
    if (done != 0) {
        Py_DECREF(out);
        return NULL;
    }
    return canonical(out, m);
}

static PyObject *
FoldTable_clear(FoldTable *self, PyObject *Py_UNUSED(ignored))
{
    clear_pages(self);
    Py_RETURN_NONE;
}

static int
FoldTable_init(FoldTable *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"table", "rule", "max_pages", NULL};
    PyObject *table, *rule;
    Py_ssize_t max_pages = 256;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "SO|n:FoldTable", kwlist, &table, &rule, &max_pages)) {
        return -1;
    }
    if (PyBytes_GET_SIZE(table) != 256) {
        PyErr_SetString(PyExc_ValueError, "table must hold 256 bytes");
        return -1;
    }
    if (!PyCallable_Check(rule)) {
        PyErr_SetString(PyExc_TypeError, "rule must be callable");
        return -1;
    }
    if (max_pages < 1) {
        PyErr_SetString(PyExc_ValueError, "max_pages must be at least 1");
        return -1;
    }
    memcpy(self->table, PyBytes_AS_STRING(table), 256);
    Py_INCREF(table);
    Py_XSETREF(self->table_obj, table);
    Py_INCREF(rule);
    Py_XSETREF(self->rule, rule);
    self->max_pages = max_pages;
    clear_pages(self);
    return 0;
}

static int
FoldTable_traverse(FoldTable *self, visitproc visit, void *arg)
{
    Py_VISIT(self->table_obj);
    Py_VISIT(self->rule);
    return 0;
}

static int
FoldTable_clear_refs(FoldTable *self)
{
    Py_CLEAR(self->table_obj);
    Py_CLEAR(self->rule);
    return 0;
}

static void
FoldTable_dealloc(FoldTable *self)
{
    PyObject_GC_UnTrack(self);
    FoldTable_clear_refs(self);
    clear_pages(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
FoldTable_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    /* tp_alloc zeroes the object: no page, no reference until __init__. */
    FoldTable *self = (FoldTable *)type->tp_alloc(type, 0);
    if (self != NULL) {
        self->max_pages = 1;
    }
    return (PyObject *)self;
}

static PyMethodDef FoldTable_methods[] = {
    {"translate", (PyCFunction)FoldTable_translate, METH_O,
     "translate(text) -> text folded: Latin-1 through the table, other characters by the rule (cached)."},
    {"clear", (PyCFunction)FoldTable_clear, METH_NOARGS, "Empty the cache of folds computed by the rule."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef FoldTable_members[] = {
    {"pages", T_PYSSIZET, offsetof(FoldTable, npages), READONLY, "pages of 256 code points cached"},
    {"max_pages", T_PYSSIZET, offsetof(FoldTable, max_pages), READONLY, "most pages cached at once"},
    {"table", T_OBJECT, offsetof(FoldTable, table_obj), READONLY, "the Latin-1 table"},
    {"rule", T_OBJECT, offsetof(FoldTable, rule), READONLY, "the rule for other characters"},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject FoldTableType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "monitor._textfold.FoldTable",
    .tp_doc = PyDoc_STR("FoldTable(table, rule, max_pages=256): a one-for-one character fold."),
    .tp_basicsize = sizeof(FoldTable),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = FoldTable_new,
    .tp_init = (initproc)FoldTable_init,
    .tp_dealloc = (destructor)FoldTable_dealloc,
    .tp_traverse = (traverseproc)FoldTable_traverse,
    .tp_clear = (inquiry)FoldTable_clear_refs,
    .tp_methods = FoldTable_methods,
    .tp_members = FoldTable_members,
};

/* ------------------------------------------------------------------ collapse and word form */

/* Append text[start:end] to out (of the same kind) at *w, JOIN deleted and a space dropped
 * after a space. `last_space`: whether the character before out[*w] is a space. Branch-free:
 * every character is written at out[k] (k <= i, within out) and k advances only for those kept;
 * text written in a gap of space runs is its most common case. */
#define COLLAPSE_LOOP(T)                                                            \
    do {                                                                            \
        const T *s_ = (const T *)src;                                               \
        T *d_ = (T *)dst;                                                           \
        for (Py_ssize_t i = start; i < end; i++) {                                  \
            T c = s_[i];                                                            \
            d_[k] = c;                                                              \
            k += c != JOIN && !(c == SPACE && last_space);                          \
            /* a JOIN changes nothing; a space, kept or dropped, is the last one */ \
            last_space = (c == SPACE) | (last_space & (c == JOIN));                 \
        }                                                                           \
    } while (0)

static void
collapse_into(int kind, const void *src, Py_ssize_t start, Py_ssize_t end, void *dst, Py_ssize_t *w,
              int last_space)
{
    Py_ssize_t k = *w;
    if (kind == PyUnicode_1BYTE_KIND) {
        COLLAPSE_LOOP(Py_UCS1);
    }
    else if (kind == PyUnicode_2BYTE_KIND) {
        COLLAPSE_LOOP(Py_UCS2);
    }
    else {
        COLLAPSE_LOOP(Py_UCS4);
    }
    *w = k;
}

/* out (fresh, only reference) cut to its first w characters. Steals `out`. */
static PyObject *
shrink(PyObject *out, Py_ssize_t w)
{
    if (PyUnicode_Resize(&out, w) < 0) {
        Py_DECREF(out);
        return NULL;
    }
    return out;
}

static PyObject *
collapse(PyObject *module, PyObject *text)
{
    if (check_str(text) == NULL) {
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), w = 0;
    int kind = PyUnicode_KIND(text);
    const void *src = PyUnicode_DATA(text);
    /* Only JOIN and spaces go: the widest character stays, so the text's kind fits the result. */
    PyObject *out = PyUnicode_New(n, PyUnicode_MAX_CHAR_VALUE(text));
    if (out == NULL) {
        return NULL;
    }
    collapse_into(kind, src, 0, n, PyUnicode_DATA(out), &w, 0);
    if (w == n) {
        Py_DECREF(out);
        Py_INCREF(text);
        return text;
    }
    return shrink(out, w);
}

/* The first index >= i that is not a space or JOIN (or n). */
static Py_ssize_t
skip_gap(int kind, const void *src, Py_ssize_t n, Py_ssize_t i)
{
    while (i < n) {
        Py_UCS4 c = PyUnicode_READ(kind, src, i);
        if (c != SPACE && c != JOIN) {
            break;
        }
        i++;
    }
    return i;
}

static int
append_index(PyObject *list, Py_ssize_t value)
{
    PyObject *v = PyLong_FromSsize_t(value);
    if (v == NULL) {
        return -1;
    }
    int r = PyList_Append(list, v);
    Py_DECREF(v);
    return r;
}

/* word_form(folded, block) -> (text, anchors_w, anchors_f): WordForm.__init__'s loop.
 * Blocks of about `block` characters cut after a gap that holds a space, so each block starts on
 * a word character; its start in the word form and in the folded text are its anchors. */
static PyObject *
word_form(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "word_form(folded, block) takes 2 arguments");
        return NULL;
    }
    PyObject *text = check_str(args[0]);
    if (text == NULL) {
        return NULL;
    }
    Py_ssize_t block = PyLong_AsSsize_t(args[1]);
    if (block == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (block < 1) {
        PyErr_SetString(PyExc_ValueError, "block must be at least 1");
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), w = 0;
    int kind = PyUnicode_KIND(text);
    const void *src = PyUnicode_DATA(text);
    if (n > PY_SSIZE_T_MAX - 2) {
        return PyErr_NoMemory();
    }
    PyObject *out = NULL, *anchors_w = NULL, *anchors_f = NULL;
    if ((out = PyUnicode_New(n + 2, PyUnicode_MAX_CHAR_VALUE(text))) == NULL ||
        (anchors_w = PyList_New(0)) == NULL || (anchors_f = PyList_New(0)) == NULL) {
        goto error;
    }
    int out_kind = PyUnicode_KIND(out);
    void *dst = PyUnicode_DATA(out);
    PyUnicode_WRITE(out_kind, dst, w, SPACE);
    w++;
    Py_ssize_t start = skip_gap(kind, src, n, 0);
    while (start < n) {
        Py_ssize_t end = n;
        if (n - start > block) {
            /* the first space at or after start + block, then the rest of its gap */
            for (Py_ssize_t i = start + block; i < n; i++) {
                if (PyUnicode_READ(kind, src, i) == SPACE) {
                    end = skip_gap(kind, src, n, i);
                    break;
                }
            }
        }
        if (append_index(anchors_w, w) < 0 || append_index(anchors_f, start) < 0) {
            goto error;
        }
        collapse_into(kind, src, start, end, dst, &w, 1);
        start = end;
    }
    if (PyUnicode_READ(out_kind, dst, w - 1) != SPACE) {
        PyUnicode_WRITE(out_kind, dst, w, SPACE);
        w++;
    }
    out = shrink(out, w);
    if (out == NULL) {
        goto error;
    }
    PyObject *result = PyTuple_Pack(3, out, anchors_w, anchors_f);
    Py_DECREF(out);
    Py_DECREF(anchors_w);
    Py_DECREF(anchors_f);
    return result;
error:
    Py_XDECREF(out);
    Py_XDECREF(anchors_w);
    Py_XDECREF(anchors_f);
    return NULL;
}

static PyMethodDef module_methods[] = {
    {"collapse", (PyCFunction)collapse, METH_O,
     "collapse(text) -> text with JOIN (\"\\0\") deleted and runs of spaces made one (not stripped)."},
    {"word_form", (PyCFunction)(void (*)(void))word_form, METH_FASTCALL,
     "word_form(folded, block) -> (text, anchors_w, anchors_f) of WordForm."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef textfold_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "monitor._textfold",
    .m_doc = "The text fold and word form of monitor.normalize, compiled.",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC
PyInit__textfold(void)
{
    if (PyType_Ready(&FoldTableType) < 0) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&textfold_module);
    if (m == NULL) {
        return NULL;
    }
    Py_INCREF(&FoldTableType);
    if (PyModule_AddObject(m, "FoldTable", (PyObject *)&FoldTableType) < 0) {
        Py_DECREF(&FoldTableType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
