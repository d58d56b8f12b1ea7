/* An experiment, not part of smartasync: what would binding a dual method in
 * C save on `await obj.m(x)`?  Issue 14 budgets an awaited call at <= 3.0x a
 * raw await from a fresh caller and <= 6.0x in a tight loop; the pure-Python
 * design pays two re-entries of the eval loop per call (the descriptor's
 * `__get__`, the bound object's `__call__`) and a `sys._getframe(1)`.
 *
 * This module gives the smallest C version of the same work, so that the
 * team can decide on a C accelerator with numbers (see README.md here):
 *
 *   Binder(fn, slow, mode_key, auto, comprehensions, flags)
 *       a non-data descriptor: read through the class it is itself (as
 *       `Cls.m` is the DualFunction); read through an instance it makes a
 *       Bound, a new object per read (+0 B per instance, as now).
 *   Bound
 *       calling it does what the generated `__call__`'s fast path does: read
 *       the object's mode (an attribute read, as now), test the caller's code
 *       flags (or the comprehension ids), and then either make the coroutine
 *       `fn(obj, *args)` or hand the call to `slow(bound, *args)`, the Python
 *       code that decides the rest.  `.sync`/`.aio` are not on the hot path
 *       and are left out.
 *
 * The caller's code is read with the public API (`PyEval_GetFrame`), which
 * makes the caller's frame object as `sys._getframe(1)` does.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>

typedef struct {
    PyObject_HEAD
    PyObject *fn;
    PyObject *slow;
    PyObject *mode_key; /* None: no mode to read */
    PyObject *auto_;
    PyObject *comprehensions; /* a set of code-object ids */
    int flags;
} BinderObject;

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *obj;
    BinderObject *binder;
} BoundObject;

static PyTypeObject BinderType;
static PyTypeObject BoundType;

/* Is the caller async code?  1 yes, 0 no, -1 error. */
static int
caller_is_async(BinderObject *d)
{
    PyFrameObject *frame = PyEval_GetFrame(); /* borrowed: the caller's */
    if (frame == NULL) {
        return 0;
    }
    PyCodeObject *code = PyFrame_GetCode(frame);
    int answer = (code->co_flags & d->flags) != 0;
    if (!answer && PySet_GET_SIZE(d->comprehensions)) {
        PyObject *id = PyLong_FromVoidPtr(code);
        if (id == NULL) {
            Py_DECREF(code);
            return -1;
        }
        answer = PySet_Contains(d->comprehensions, id);
        Py_DECREF(id);
    }
    Py_DECREF(code);
    return answer;
}

/* `target(first, *args, **kw)` without copying the arguments when the caller
 * left a free slot in front of them (PY_VECTORCALL_ARGUMENTS_OFFSET). */
static PyObject *
call_prepended(PyObject *target, PyObject *first, PyObject *const *args,
               size_t nargsf, PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    Py_ssize_t total = nargs + (kwnames ? PyTuple_GET_SIZE(kwnames) : 0);
    if (nargsf & PY_VECTORCALL_ARGUMENTS_OFFSET) {
        PyObject **slots = (PyObject **)args - 1;
        PyObject *kept = slots[0];
        slots[0] = first;
        PyObject *result = PyObject_Vectorcall(target, slots, nargs + 1, kwnames);
        slots[0] = kept;
        return result;
    }
    PyObject *small[8];
    PyObject **stack = small;
    if (total + 1 > 8) {
        stack = PyMem_Malloc((total + 1) * sizeof(PyObject *));
        if (stack == NULL) {
            return PyErr_NoMemory();
        }
    }
    stack[0] = first;
    for (Py_ssize_t i = 0; i < total; i++) {
        stack[i + 1] = args[i];
    }
    PyObject *result = PyObject_Vectorcall(target, stack, nargs + 1, kwnames);
    if (stack != small) {
        PyMem_Free(stack);
    }
    return result;
}

static PyObject *
bound_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    BoundObject *b = (BoundObject *)self;
    BinderObject *d = b->binder;
    int fast = 1;
    if (d->mode_key != Py_None) {
        PyObject *mode = PyObject_GetAttr(b->obj, d->mode_key);
        if (mode == NULL) {
            return NULL;
        }
        fast = mode == d->auto_;
        Py_DECREF(mode);
    }
    if (fast) {
        fast = caller_is_async(d);
        if (fast < 0) {
            return NULL;
        }
    }
    if (fast) {
        return call_prepended(d->fn, b->obj, args, nargsf, kwnames);
    }
    return call_prepended(d->slow, self, args, nargsf, kwnames);
}

static int
bound_traverse(BoundObject *b, visitproc visit, void *arg)
{
    Py_VISIT(b->obj);
    Py_VISIT(b->binder);
    return 0;
}

static int
bound_clear(BoundObject *b)
{
    Py_CLEAR(b->obj);
    Py_CLEAR(b->binder);
    return 0;
}

static void
bound_dealloc(BoundObject *b)
{
    PyObject_GC_UnTrack(b);
    bound_clear(b);
    PyObject_GC_Del(b);
}

static PyObject *
bound_self(BoundObject *b, void *closure)
{
    return Py_NewRef(b->obj);
}

static PyGetSetDef bound_getset[] = {
    {"__self__", (getter)bound_self, NULL, NULL, NULL},
    {NULL},
};

static PyTypeObject BoundType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "_cbind.Bound",
    .tp_basicsize = sizeof(BoundObject),
    .tp_dealloc = (destructor)bound_dealloc,
    .tp_vectorcall_offset = offsetof(BoundObject, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_traverse = (traverseproc)bound_traverse,
    .tp_clear = (inquiry)bound_clear,
    .tp_getset = bound_getset,
};

static PyObject *
binder_get(PyObject *self, PyObject *obj, PyObject *type)
{
    if (obj == NULL || obj == Py_None) {
        return Py_NewRef(self);
    }
    BoundObject *b = PyObject_GC_New(BoundObject, &BoundType);
    if (b == NULL) {
        return NULL;
    }
    b->vectorcall = bound_vectorcall;
    b->obj = Py_NewRef(obj);
    b->binder = (BinderObject *)Py_NewRef(self);
    PyObject_GC_Track(b);
    return (PyObject *)b;
}

static PyObject *
binder_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyObject *fn, *slow, *mode_key, *auto_, *comprehensions;
    int flags;
    if (!PyArg_ParseTuple(args, "OOOOO!i", &fn, &slow, &mode_key, &auto_,
                          &PySet_Type, &comprehensions, &flags)) {
        return NULL;
    }
    BinderObject *d = PyObject_GC_New(BinderObject, type);
    if (d == NULL) {
        return NULL;
    }
    d->fn = Py_NewRef(fn);
    d->slow = Py_NewRef(slow);
    d->mode_key = Py_NewRef(mode_key);
    d->auto_ = Py_NewRef(auto_);
    d->comprehensions = Py_NewRef(comprehensions);
    d->flags = flags;
    PyObject_GC_Track(d);
    return (PyObject *)d;
}

static int
binder_traverse(BinderObject *d, visitproc visit, void *arg)
{
    Py_VISIT(d->fn);
    Py_VISIT(d->slow);
    Py_VISIT(d->mode_key);
    Py_VISIT(d->auto_);
    Py_VISIT(d->comprehensions);
    return 0;
}

static int
binder_clear(BinderObject *d)
{
    Py_CLEAR(d->fn);
    Py_CLEAR(d->slow);
    Py_CLEAR(d->mode_key);
    Py_CLEAR(d->auto_);
    Py_CLEAR(d->comprehensions);
    return 0;
}

static void
binder_dealloc(BinderObject *d)
{
    PyObject_GC_UnTrack(d);
    binder_clear(d);
    PyObject_GC_Del(d);
}

static PyTypeObject BinderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "_cbind.Binder",
    .tp_basicsize = sizeof(BinderObject),
    .tp_dealloc = (destructor)binder_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = (traverseproc)binder_traverse,
    .tp_clear = (inquiry)binder_clear,
    .tp_descr_get = binder_get,
    .tp_new = binder_new,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_cbind", NULL, -1, NULL,
};

PyMODINIT_FUNC
PyInit__cbind(void)
{
    if (PyType_Ready(&BinderType) < 0 || PyType_Ready(&BoundType) < 0) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) {
        return NULL;
    }
    if (PyModule_AddObjectRef(m, "Binder", (PyObject *)&BinderType) < 0
        || PyModule_AddObjectRef(m, "Bound", (PyObject *)&BoundType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
