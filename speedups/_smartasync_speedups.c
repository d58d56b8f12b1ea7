/* smartasync's optional accelerator: the binding and the bare call of a
 * specialised dual method, in C.  Nothing here is public API.
 *
 * The pure-Python package is the reference: `smartasync._dual` generates, for
 * each method, a bound-method type whose `__call__` applies the call rule's
 * inline tests (`smartasync._rule.INLINE`) and hands everything else to
 * `_dispatch.dispatch`.  That costs two re-entries of the eval loop per call:
 * the dual function's `__get__` (a Python function in a type slot), then the
 * bound object's `__call__` (through `slot_tp_call`).  This module gives the
 * same two steps as C slots:
 *
 *   Function   a base type of `DualFunction`.  Its `tp_descr_get` is used
 *              only by specialised dual functions (their generated class
 *              names `Function.__dict__["__get__"]`, which gives the C slot
 *              back); it makes a bound object of the method's generated type
 *              from the fields `arm()` stored.
 *   Bound      a base type of `DualBound`, holding `__self__`,
 *              `__qualname__` and `_dual`, with a vectorcall that is the
 *              generated `__call__`'s fast path, word for word:
 *                - read the caller's code object and (in a smart class) the
 *                  receiver's mode slot, once;
 *                - an async caller whose mode passes gets `fn(obj, ...)`;
 *                - a plain sync caller of a coroutine method, when the mode
 *                  passes, gets `run_blocking(coro, name, frame, True, obj)`;
 *                - every other call: `dispatch(dual, obj, frame, coro)`;
 *                - a failure after the coroutine exists: `fail(exc, coro)`.
 *              tests/test_rule_equivalence.py runs this and the Python paths
 *              over the same callers.
 *
 * Every Python object the tests need (the AUTO mode, the Home type, the
 * remembered comprehensions, dispatch, ...) is handed over once by
 * `configure()`, from `smartasync._speedups`, so the rule keeps one source.
 * The module keeps them in static variables (single-phase init): it refuses
 * subinterpreters with their own GIL, and smartasync then runs pure Python.
 * It declares nothing about free threading; smartasync does not load it on a
 * free-threaded build.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>

#if PY_VERSION_HEX < 0x030C0000
#include <structmember.h>
#define Py_T_OBJECT_EX T_OBJECT_EX
#endif

/* Bumped whenever configure()'s arguments or arm()'s flags change: smartasync
 * loads only the ABI it was written for. */
#define ABI 2

/* arm()'s flags (mirrored in smartasync/_speedups.py). */
#define F_SMART 1        /* a smart class: read the receiver's mode slot */
#define F_FAST 2         /* the mode can only be auto: the inline tests apply */
#define F_COROUTINE 4    /* a coroutine method: a plain sync caller runs it here */
#define F_CLASSMETHOD 8  /* binds to the class, read through the class or an instance */

/* -- what configure() hands over ------------------------------------------- */
static PyObject *AUTO;                 /* _modes.AUTO */
static PyObject *HOME;                 /* _modes.Home */
static PyObject *INSTANCE_KEY;         /* "_smartasync_mode" */
static PyObject *ASYNC_COMPREHENSIONS; /* _rule.async_comprehensions: {id(code): code} */
static PyObject *NOT_PLAIN_SYNC;       /* _rule.NOT_PLAIN_SYNC: {co_name: qualnames} */
static PyObject *RUNNING;              /* the running-loop getter (3.12+ home test) */
static PyObject *DISPATCH;             /* _dispatch.dispatch */
static PyObject *RUN;                  /* _runner.run_blocking */
static PyObject *FAIL;                 /* _dispatch.fail */
static PyObject *STR_HOT, *STR_PLAIN, *STR_THREAD_ID;
/* Where a Home keeps `hot` and `plain` (its __slots__), read directly on the
 * path of every call on a homed object; -1: by attribute (not slots). */
static Py_ssize_t HOT_OFFSET = -1, PLAIN_OFFSET = -1;
static int ASYNC_CODE_FLAGS;
static int HOT_BY_THREAD;
static int configured;
/* The interpreter that configured the module.  A single-phase module's C
 * state is shared by every legacy subinterpreter that imports it (mod_wsgi
 * runs one per application): only the first may use it; the others run
 * pure Python (`usable()`). */
static PyInterpreterState *OWNER;

/* -- types ----------------------------------------------------------------- */
typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall; /* its own calls, once armed (see armed()) */
    /* DualFunction's own attributes (its slots in pure Python) */
    PyObject *wrapped;  /* __wrapped__ */
    PyObject *qualname; /* __qualname__ */
    PyObject *kind;     /* _kind */
    PyObject *mode;     /* _mode */
    PyObject *smart;    /* _smart */
    PyObject *uses;     /* _uses */
    /* what arm() stores when the method is specialised */
    PyTypeObject *bound_type; /* NULL until arm() */
    PyObject *fn;             /* the wrapped `async def` */
    PyObject *name;           /* its qualified name, for errors */
    int flags;
} FunctionObject;

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *self_;    /* __self__ */
    PyObject *qualname; /* __qualname__ */
    PyObject *dual;     /* _dual: the FunctionObject */
} BoundObject;

static PyTypeObject FunctionType;
static PyTypeObject BoundType;

/* -- the call rule's inline tests (smartasync/_rule.py INLINE) ------------- */

/* ASYNC_CALLER: 1 yes, 0 not for sure, -1 error. */
static int
async_caller(PyCodeObject *code)
{
    if (code->co_flags & ASYNC_CODE_FLAGS) {
        return 1;
    }
    if (PyDict_GET_SIZE(ASYNC_COMPREHENSIONS) == 0) {
        return 0;
    }
    PyObject *key = PyLong_FromVoidPtr(code);
    if (key == NULL) {
        return -1;
    }
    int found = PyDict_Contains(ASYNC_COMPREHENSIONS, key);
    Py_DECREF(key);
    return found;
}

/* PLAIN_SYNC_CALLER: 1 yes, 0 no (to dispatch), -1 error. */
static int
plain_sync_caller(PyCodeObject *code)
{
    PyObject *qualnames = PyDict_GetItemWithError(NOT_PLAIN_SYNC, code->co_name);
    if (qualnames == NULL) {
        return PyErr_Occurred() ? -1 : 1;
    }
    Py_INCREF(qualnames);
    int listed = PySequence_Contains(qualnames, code->co_qualname);
    Py_DECREF(qualnames);
    return listed < 0 ? -1 : !listed;
}

/* A Home's slot `name` (at `offset`, if known): a new reference, or NULL
 * with an exception set. */
static PyObject *
home_slot(PyObject *m, Py_ssize_t offset, PyObject *name)
{
    if (offset >= 0) {
        PyObject *value = *(PyObject **)((char *)m + offset);
        if (value != NULL) {
            return Py_NewRef(value);
        }
    }
    return PyObject_GetAttr(m, name); /* (unset: its AttributeError) */
}

/* ASYNC_PASSES for what the mode slot holds: 1, 0 or -1. */
static int
async_passes(PyObject *m)
{
    if (m == AUTO) {
        return 1;
    }
    if ((PyObject *)Py_TYPE(m) != HOME) {
        return 0;
    }
    PyObject *hot = home_slot(m, HOT_OFFSET, STR_HOT);
    if (hot == NULL) {
        return -1;
    }
    int answer;
    if (HOT_BY_THREAD) { /* 3.11: the loop's thread is the caller's */
        PyObject *owner = PyObject_GetAttr(hot, STR_THREAD_ID);
        Py_DECREF(hot);
        if (owner == NULL) {
            return -1;
        }
        if (PyLong_CheckExact(owner)) { /* without making an int of our ident */
            unsigned long value = PyLong_AsUnsignedLong(owner);
            if (!(value == (unsigned long)-1 && PyErr_Occurred())) {
                Py_DECREF(owner);
                return value == PyThread_get_thread_ident();
            }
            PyErr_Clear(); /* (negative or too big: compared below, as Python does) */
        }
        PyObject *ident = PyLong_FromUnsignedLong(PyThread_get_thread_ident());
        if (ident == NULL) {
            Py_DECREF(owner);
            return -1;
        }
        answer = PyObject_RichCompareBool(owner, ident, Py_EQ);
        Py_DECREF(owner);
        Py_DECREF(ident);
        return answer;
    }
    PyObject *running = PyObject_CallNoArgs(RUNNING);
    if (running == NULL) {
        Py_DECREF(hot);
        return -1;
    }
    answer = hot == running;
    Py_DECREF(hot);
    Py_DECREF(running);
    return answer;
}

/* SYNC_PASSES: 1, 0 or -1. */
static int
sync_passes(PyObject *m)
{
    if (m == AUTO) {
        return 1;
    }
    if ((PyObject *)Py_TYPE(m) != HOME) {
        return 0;
    }
    PyObject *plain = home_slot(m, PLAIN_OFFSET, STR_PLAIN);
    if (plain == NULL) {
        return -1;
    }
    int answer = PyObject_IsTrue(plain);
    Py_DECREF(plain);
    return answer;
}

/* -- calls ----------------------------------------------------------------- */

/* `target(first, *args, **kw)`, using the free slot in front of the
 * arguments when the caller left one (PY_VECTORCALL_ARGUMENTS_OFFSET). */
static PyObject *
call_prepended(PyObject *target, PyObject *first, PyObject *const *args, size_t nargsf,
               PyObject *kwnames)
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

/* The exception being raised, taken (3.11 has no PyErr_GetRaisedException). */
static PyObject *
take_exception(void)
{
#if PY_VERSION_HEX >= 0x030C0000
    return PyErr_GetRaisedException();
#else
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb != NULL) {
        PyException_SetTraceback(value, tb);
    }
    Py_XDECREF(type);
    Py_XDECREF(tb);
    return value;
#endif
}

static void
raise_exception(PyObject *exc) /* steals exc */
{
#if PY_VERSION_HEX >= 0x030C0000
    PyErr_SetRaisedException(exc);
#else
    PyErr_Restore(Py_NewRef((PyObject *)Py_TYPE(exc)), exc, PyException_GetTraceback(exc));
#endif
}

/* `raise fail(exc, coro)`: close the coroutine if nothing started it, prune
 * smartasync's frames from the traceback (the generated code's except). */
static PyObject *
failed(PyObject *coro)
{
    PyObject *exc = take_exception();
    if (exc == NULL) {
        return NULL;
    }
    PyObject *given = PyObject_CallFunctionObjArgs(FAIL, exc, coro ? coro : Py_None, NULL);
    if (given == NULL) {
        /* fail() itself raised (a Ctrl-C landing in it): chained, as the
         * generated `raise fail(e, c)` inside `except` would be */
        PyObject *late = take_exception();
        if (late != NULL) {
            PyException_SetContext(late, exc); /* steals exc */
            raise_exception(late);
        }
        else {
            Py_DECREF(exc);
        }
        return NULL;
    }
    Py_DECREF(exc);
    if (!PyExceptionInstance_Check(given)) {
        Py_DECREF(given);
        PyErr_SetString(PyExc_TypeError, "exceptions must derive from BaseException");
        return NULL;
    }
    raise_exception(given);
    return NULL;
}

/* `fn(obj, ...)` for a bound call, `fn(...)` for the function's own. */
static PyObject *
call_fn(PyObject *fn, PyObject *obj, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    if (obj == NULL) {
        return PyObject_Vectorcall(fn, args, nargsf, kwnames);
    }
    return call_prepended(fn, obj, args, nargsf, kwnames);
}

/* The generated `__call__`, for the dual function `d` bound to `obj` (or,
 * obj NULL, called itself: its receiver for the mode is then None). */
static PyObject *
rule_call(FunctionObject *d, PyObject *obj, PyObject *const *args, size_t nargsf,
          PyObject *kwnames)
{
    /* The caller's frame (borrowed), or NULL when no Python code is running
     * (an atexit callback, a thread started from C): a sync caller, which
     * `dispatch` is given as None (see _rule.caller_frame). */
    PyFrameObject *frame = PyEval_GetFrame();
    int flags = d->flags;
    PyObject *fn = d->fn, *source = obj == NULL ? Py_None : obj;
    PyObject *result = NULL, *coro = NULL, *m = NULL;
    PyCodeObject *code = frame == NULL ? NULL : PyFrame_GetCode(frame);
    Py_INCREF(fn); /* a call may re-arm the function under us */
    Py_INCREF(source);
    if (code != NULL && (flags & F_FAST)) {
        if ((flags & F_SMART) && obj != NULL) {
            m = PyObject_GetAttr(obj, INSTANCE_KEY);
            if (m == NULL) {
                goto done;
            }
        }
        int answer = async_caller(code);
        if (answer < 0) {
            goto done;
        }
        if (answer) {
            answer = m == NULL ? 1 : async_passes(m);
            if (answer < 0) {
                goto done;
            }
            if (answer) {
                result = call_fn(fn, obj, args, nargsf, kwnames);
                goto done;
            }
        }
        else if (flags & F_COROUTINE) {
            answer = m == NULL ? 1 : sync_passes(m);
            if (answer > 0) {
                answer = plain_sync_caller(code);
            }
            if (answer < 0) {
                goto done;
            }
            if (answer) {
                coro = call_fn(fn, obj, args, nargsf, kwnames);
                if (coro == NULL) {
                    goto done;
                }
                result = PyObject_CallFunctionObjArgs(RUN, coro, d->name, (PyObject *)frame,
                                                      Py_True, source, NULL);
                if (result == NULL) {
                    failed(coro);
                }
                goto done;
            }
        }
    }
    coro = call_fn(fn, obj, args, nargsf, kwnames);
    if (coro == NULL) {
        goto done;
    }
    result = PyObject_CallFunctionObjArgs(DISPATCH, (PyObject *)d, source,
                                          frame == NULL ? Py_None : (PyObject *)frame, coro, NULL);
    if (result == NULL) {
        failed(coro);
    }
done:
    Py_XDECREF(coro);
    Py_XDECREF(m);
    Py_DECREF(source);
    Py_DECREF(fn);
    Py_XDECREF(code);
    return result;
}

static PyObject *
bound_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    BoundObject *b = (BoundObject *)self;
    FunctionObject *d = (FunctionObject *)b->dual;
    PyObject *obj = b->self_;
    if (obj == NULL || d == NULL || !PyObject_TypeCheck(d, &FunctionType)
        || d->bound_type == NULL) {
        PyErr_SetString(PyExc_TypeError, "smartasync: a dual method bound without its object");
        return NULL;
    }
    Py_INCREF(d); /* a call may rebind the bound object under us */
    Py_INCREF(obj);
    PyObject *result = rule_call(d, obj, args, nargsf, kwnames);
    Py_DECREF(obj);
    Py_DECREF(d);
    return result;
}

static PyObject *
function_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    FunctionObject *d = (FunctionObject *)self;
    if (d->bound_type == NULL || (d->flags & F_SMART)) {
        /* (a smart class's method called through the class keeps the
         * generated __call__: its receiver is an argument) */
        PyErr_SetString(PyExc_TypeError, "smartasync: a dual function called in C unarmed");
        return NULL;
    }
    return rule_call(d, NULL, args, nargsf, kwnames);
}

/* A tp_call from a vectorcall function: for an object made without its
 * vectorcall pointer (by object.__new__, or whose class was swapped). */
static PyObject *
call_from_tuple(vectorcallfunc call, PyObject *self, PyObject *args, PyObject *kwargs)
{
    Py_ssize_t nargs = PyTuple_GET_SIZE(args);
    Py_ssize_t nkw = kwargs ? PyDict_GET_SIZE(kwargs) : 0;
    if (nkw == 0) {
        return call(self, &PyTuple_GET_ITEM(args, 0), nargs, NULL);
    }
    PyObject **stack = PyMem_Malloc((nargs + nkw) * sizeof(PyObject *));
    if (stack == NULL) {
        return PyErr_NoMemory();
    }
    PyObject *kwnames = PyTuple_New(nkw);
    if (kwnames == NULL) {
        PyMem_Free(stack);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < nargs; i++) {
        stack[i] = PyTuple_GET_ITEM(args, i);
    }
    Py_ssize_t pos = 0, i = 0;
    PyObject *key, *value;
    while (i < nkw && PyDict_Next(kwargs, &pos, &key, &value)) {
        /* held: the call may change the dict (as _PyStack_UnpackDict holds them) */
        PyTuple_SET_ITEM(kwnames, i, Py_NewRef(key));
        stack[nargs + i] = Py_NewRef(value);
        i++;
    }
    PyObject *result = call(self, stack, nargs, kwnames);
    for (Py_ssize_t j = 0; j < i; j++) {
        Py_DECREF(stack[nargs + j]);
    }
    Py_DECREF(kwnames);
    PyMem_Free(stack);
    return result;
}

static PyObject *
bound_call(PyObject *self, PyObject *args, PyObject *kwargs)
{
    return call_from_tuple(bound_vectorcall, self, args, kwargs);
}

static PyObject *
function_call(PyObject *self, PyObject *args, PyObject *kwargs)
{
    return call_from_tuple(function_vectorcall, self, args, kwargs);
}

static int
bound_traverse(BoundObject *b, visitproc visit, void *arg)
{
    Py_VISIT(b->self_);
    Py_VISIT(b->qualname);
    Py_VISIT(b->dual);
    return 0;
}

static int
bound_clear(BoundObject *b)
{
    Py_CLEAR(b->self_);
    Py_CLEAR(b->qualname);
    Py_CLEAR(b->dual);
    return 0;
}

static void
bound_dealloc(BoundObject *b)
{
    PyObject_GC_UnTrack(b);
    /* (a long chain of them, each the next one's __self__, would otherwise
     * recurse once per link) */
    Py_TRASHCAN_BEGIN(b, bound_dealloc)
    bound_clear(b);
    Py_TYPE(b)->tp_free((PyObject *)b);
    Py_TRASHCAN_END
}

static PyMemberDef bound_members[] = {
    {"__self__", Py_T_OBJECT_EX, offsetof(BoundObject, self_), 0, NULL},
    {"__qualname__", Py_T_OBJECT_EX, offsetof(BoundObject, qualname), 0, NULL},
    {"_dual", Py_T_OBJECT_EX, offsetof(BoundObject, dual), 0, NULL},
    {NULL},
};

static PyTypeObject BoundType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "_smartasync_speedups.Bound",
    .tp_basicsize = sizeof(BoundObject),
    .tp_dealloc = (destructor)bound_dealloc,
    .tp_vectorcall_offset = offsetof(BoundObject, vectorcall),
    .tp_call = bound_call,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC
                | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_traverse = (traverseproc)bound_traverse,
    .tp_clear = (inquiry)bound_clear,
    .tp_members = bound_members,
    /* tp_new: object's (see PyInit) */
};

/* A new bound object of `type` (a subclass of Bound), its vectorcall set. */
static PyObject *
make_bound(PyTypeObject *type, PyObject *obj, PyObject *qualname, PyObject *dual)
{
    BoundObject *b = (BoundObject *)type->tp_alloc(type, 0);
    if (b == NULL) {
        return NULL;
    }
    b->vectorcall = bound_vectorcall;
    b->self_ = Py_NewRef(obj);
    b->qualname = Py_NewRef(qualname);
    b->dual = Py_NewRef(dual);
    return (PyObject *)b;
}

/* -- Function -------------------------------------------------------------- */

/* The generated `__get__` (DualFunction._binder): used only once armed. */
static PyObject *
function_get(PyObject *self, PyObject *obj, PyObject *owner)
{
    FunctionObject *d = (FunctionObject *)self;
    if (d->bound_type == NULL) {
        PyErr_SetString(PyExc_TypeError, "smartasync: a dual function bound before arm()");
        return NULL;
    }
    PyObject *target;
    if (d->flags & F_CLASSMETHOD) {
        target = owner != NULL && owner != Py_None ? owner : (PyObject *)Py_TYPE(obj);
    }
    else {
        if (obj == NULL || obj == Py_None) {
            return Py_NewRef(self);
        }
        target = obj;
    }
    /* held: the allocation may run a collection, and finalisers (re-arming) */
    PyTypeObject *type = (PyTypeObject *)Py_NewRef((PyObject *)d->bound_type);
    PyObject *name = Py_NewRef(d->name);
    Py_INCREF(target);
    PyObject *bound = make_bound(type, target, name, self);
    Py_DECREF(target);
    Py_DECREF(name);
    Py_DECREF(type);
    return bound;
}

static int
function_traverse(FunctionObject *d, visitproc visit, void *arg)
{
    Py_VISIT(d->wrapped);
    Py_VISIT(d->qualname);
    Py_VISIT(d->kind);
    Py_VISIT(d->mode);
    Py_VISIT(d->smart);
    Py_VISIT(d->uses);
    Py_VISIT(d->bound_type);
    Py_VISIT(d->fn);
    Py_VISIT(d->name);
    return 0;
}

static int
function_clear(FunctionObject *d)
{
    Py_CLEAR(d->wrapped);
    Py_CLEAR(d->qualname);
    Py_CLEAR(d->kind);
    Py_CLEAR(d->mode);
    Py_CLEAR(d->smart);
    Py_CLEAR(d->uses);
    Py_CLEAR(d->bound_type);
    Py_CLEAR(d->fn);
    Py_CLEAR(d->name);
    return 0;
}

static void
function_dealloc(FunctionObject *d)
{
    PyObject_GC_UnTrack(d);
    Py_TRASHCAN_BEGIN(d, function_dealloc)
    function_clear(d);
    Py_TYPE(d)->tp_free((PyObject *)d);
    Py_TRASHCAN_END
}

static PyMemberDef function_members[] = {
    {"__wrapped__", Py_T_OBJECT_EX, offsetof(FunctionObject, wrapped), 0, NULL},
    {"__qualname__", Py_T_OBJECT_EX, offsetof(FunctionObject, qualname), 0, NULL},
    {"_kind", Py_T_OBJECT_EX, offsetof(FunctionObject, kind), 0, NULL},
    {"_mode", Py_T_OBJECT_EX, offsetof(FunctionObject, mode), 0, NULL},
    {"_smart", Py_T_OBJECT_EX, offsetof(FunctionObject, smart), 0, NULL},
    {"_uses", Py_T_OBJECT_EX, offsetof(FunctionObject, uses), 0, NULL},
    {NULL},
};

static PyTypeObject FunctionType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "_smartasync_speedups.Function",
    .tp_basicsize = sizeof(FunctionObject),
    .tp_dealloc = (destructor)function_dealloc,
    .tp_vectorcall_offset = offsetof(FunctionObject, vectorcall),
    .tp_call = function_call,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC
                | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_traverse = (traverseproc)function_traverse,
    .tp_clear = (inquiry)function_clear,
    .tp_members = function_members,
    .tp_descr_get = function_get,
};

/* -- module functions ------------------------------------------------------ */

/* The offset of `type`'s __slots__ member `name`, or -1 if it is not one. */
static Py_ssize_t
slot_offset(PyObject *type, PyObject *name)
{
    PyObject *descr = PyObject_GetAttr(type, name);
    Py_ssize_t offset = -1;
    if (descr == NULL) {
        PyErr_Clear();
        return -1;
    }
    if (Py_IS_TYPE(descr, &PyMemberDescr_Type)
        && PyDescr_TYPE(descr) == (PyTypeObject *)type
        && ((PyMemberDescrObject *)descr)->d_member->type == Py_T_OBJECT_EX) {
        offset = ((PyMemberDescrObject *)descr)->d_member->offset;
    }
    Py_DECREF(descr);
    return offset;
}

static PyObject *
configure(PyObject *module, PyObject *args)
{
    PyObject *auto_, *home, *key, *comprehensions, *not_plain, *running, *dispatch, *run, *fail;
    int code_flags, by_thread;
    if (!PyArg_ParseTuple(args, "OOUO!O!OOOOip:configure", &auto_, &home, &key, &PyDict_Type,
                          &comprehensions, &PyDict_Type, &not_plain, &running, &dispatch, &run,
                          &fail, &code_flags, &by_thread)) {
        return NULL;
    }
    if (OWNER != NULL && OWNER != PyInterpreterState_Get()) {
        PyErr_SetString(PyExc_RuntimeError,
                        "_smartasync_speedups is configured by another interpreter");
        return NULL;
    }
    OWNER = PyInterpreterState_Get();
    Py_XSETREF(AUTO, Py_NewRef(auto_));
    Py_XSETREF(HOME, Py_NewRef(home));
    Py_XSETREF(INSTANCE_KEY, Py_NewRef(key));
    Py_XSETREF(ASYNC_COMPREHENSIONS, Py_NewRef(comprehensions));
    Py_XSETREF(NOT_PLAIN_SYNC, Py_NewRef(not_plain));
    Py_XSETREF(RUNNING, Py_NewRef(running));
    Py_XSETREF(DISPATCH, Py_NewRef(dispatch));
    Py_XSETREF(RUN, Py_NewRef(run));
    Py_XSETREF(FAIL, Py_NewRef(fail));
    ASYNC_CODE_FLAGS = code_flags;
    HOT_BY_THREAD = by_thread;
    HOT_OFFSET = slot_offset(home, STR_HOT);
    PLAIN_OFFSET = slot_offset(home, STR_PLAIN);
    configured = 1;
    Py_RETURN_NONE;
}

/* The C calls of `type`, whose tp_call is `call` (inherited, or given back
 * by naming the base's `__call__` wrapper): a heap type does not inherit the
 * vectorcall flag on 3.11, nor on 3.12+ from a base whose `__call__` is
 * Python (DualFunction's).  Nothing assigns `__call__` on these generated
 * types later (3.11 would not clear the flag then; 3.12+ does). */
static void
give_vectorcall(PyTypeObject *type, ternaryfunc call, Py_ssize_t offset)
{
    if (type->tp_call == call) {
        type->tp_vectorcall_offset = offset;
        type->tp_flags |= Py_TPFLAGS_HAVE_VECTORCALL;
    }
}

static PyObject *
arm(PyObject *module, PyObject *args)
{
    PyObject *dual, *fn, *name;
    PyTypeObject *bound_type;
    int flags;
    if (!PyArg_ParseTuple(args, "O!O!OUi:arm", &FunctionType, &dual, &PyType_Type, &bound_type,
                          &fn, &name, &flags)) {
        return NULL;
    }
    if (!configured) {
        PyErr_SetString(PyExc_RuntimeError, "arm() before configure()");
        return NULL;
    }
    if (!PyType_IsSubtype(bound_type, &BoundType)) {
        PyErr_SetString(PyExc_TypeError, "arm(): the bound type must subclass Bound");
        return NULL;
    }
    FunctionObject *d = (FunctionObject *)dual;
    give_vectorcall(bound_type, bound_call, offsetof(BoundObject, vectorcall));
    /* every field set before any old value is released: releasing may run
     * code (a finaliser) that calls the function */
    PyObject *old_fn = d->fn, *old_name = d->name, *old_type = (PyObject *)d->bound_type;
    d->fn = Py_NewRef(fn);
    d->name = Py_NewRef(name);
    d->flags = flags;
    d->bound_type = (PyTypeObject *)Py_NewRef((PyObject *)bound_type);
    Py_XDECREF(old_fn);
    Py_XDECREF(old_name);
    Py_XDECREF(old_type);
    Py_RETURN_NONE;
}

static PyObject *
bind(PyObject *module, PyObject *args)
{
    PyTypeObject *type;
    PyObject *obj, *qualname, *dual;
    if (!PyArg_ParseTuple(args, "O!OOO:bind", &PyType_Type, &type, &obj, &qualname, &dual)) {
        return NULL;
    }
    if (!PyType_IsSubtype(type, &BoundType)) {
        PyErr_SetString(PyExc_TypeError, "bind(): the type must subclass Bound");
        return NULL;
    }
    return make_bound(type, obj, qualname, dual);
}

static PyObject *
armed(PyObject *module, PyObject *obj)
{
    /* An object made in Python, or whose class was swapped in place (to its
     * specialised type), gets its vectorcall, and its type the flag. */
    if (PyObject_TypeCheck(obj, &BoundType)) {
        ((BoundObject *)obj)->vectorcall = bound_vectorcall;
        give_vectorcall(Py_TYPE(obj), bound_call, offsetof(BoundObject, vectorcall));
    }
    else if (PyObject_TypeCheck(obj, &FunctionType)) {
        if (((FunctionObject *)obj)->bound_type == NULL) {
            PyErr_SetString(PyExc_TypeError, "armed(): the function is not armed");
            return NULL;
        }
        ((FunctionObject *)obj)->vectorcall = function_vectorcall;
        give_vectorcall(Py_TYPE(obj), function_call, offsetof(FunctionObject, vectorcall));
    }
    else {
        PyErr_SetString(PyExc_TypeError, "armed(): neither a Bound nor a Function");
        return NULL;
    }
    return Py_NewRef(obj);
}

/* The class walk's first loop (smartasync._class.walk over the class's own
 * namespace), for the common shape: a plain `async def` or async generator
 * function becomes a DualFunction made here (what `_dual.member_dual` does)
 * and is set on the class past any metaclass __setattr__ (what
 * `type.__setattr__` does).  Dunder names and plain functions are skipped,
 * as there; every other attribute (and a function whose kind needs
 * `kind_of`) is returned, in order, for the Python loop to decide.  The
 * budget: decorating 20 methods in <= 20 us over a plain class. */
static int
is_dunder(PyObject *name)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(name);
    if (n <= 4) {
        return 0;
    }
    int kind = PyUnicode_KIND(name);
    const void *data = PyUnicode_DATA(name);
    return PyUnicode_READ(kind, data, 0) == '_' && PyUnicode_READ(kind, data, 1) == '_'
           && PyUnicode_READ(kind, data, n - 2) == '_' && PyUnicode_READ(kind, data, n - 1) == '_';
}

static PyObject *ZERO;

static PyObject *
member_dual(PyTypeObject *dual_type, PyObject *fn, PyObject *kind, PyObject *fn_dict)
{
    FunctionObject *d = (FunctionObject *)dual_type->tp_alloc(dual_type, 0);
    if (d == NULL) {
        return NULL;
    }
    d->wrapped = Py_NewRef(fn);
    d->qualname = Py_NewRef(((PyFunctionObject *)fn)->func_qualname);
    d->kind = Py_NewRef(kind);
    d->mode = Py_NewRef(Py_None);
    d->smart = Py_NewRef(Py_True);
    d->uses = Py_NewRef(ZERO);
    if (fn_dict != NULL && PyDict_GET_SIZE(fn_dict)) {
        /* function attributes, as functools.update_wrapper copies them */
        PyObject *own = PyObject_GenericGetDict((PyObject *)d, NULL);
        if (own == NULL || PyDict_Update(own, fn_dict) < 0) {
            Py_XDECREF(own);
            Py_DECREF(d);
            return NULL;
        }
        Py_DECREF(own);
    }
    return (PyObject *)d;
}

/* One (name, value) pair of the walk: 0 done, -1 error.  The pair, the
 * function's dict and the mark are held while user code may run (a key's
 * __eq__, a mark's __bool__ can replace the function's __dict__). */
static int
walk_item(PyObject *cls, PyObject *item, PyTypeObject *dual_type, PyObject *coroutine,
          PyObject *asyncgen, PyObject *acm_code, PyObject *async_only, PyObject *marker,
          PyObject *left)
{
    if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 2) {
        PyErr_SetString(PyExc_TypeError, "walk_own(): items are (name, value) pairs");
        return -1;
    }
    PyObject *name = PyTuple_GET_ITEM(item, 0), *attr = PyTuple_GET_ITEM(item, 1);
    if (!PyUnicode_Check(name) || !Py_IS_TYPE(attr, &PyFunction_Type)) {
        return PyUnicode_Check(name) && is_dunder(name) ? 0 : PyList_Append(left, item);
    }
    if (is_dunder(name)) {
        return 0;
    }
    PyObject *code = PyFunction_GET_CODE(attr);
    int flags = ((PyCodeObject *)code)->co_flags;
    PyObject *fn_dict = Py_XNewRef(((PyFunctionObject *)attr)->func_dict);
    PyObject *kind = NULL, *dual = NULL;
    int answer = -1;
    if (flags & CO_COROUTINE) {
        kind = coroutine;
    }
    else if (flags & CO_ASYNC_GENERATOR) {
        kind = asyncgen;
    }
    else {
        int marked = fn_dict != NULL ? PyDict_Contains(fn_dict, marker) : 0;
        if (marked >= 0) { /* an ACM helper or a marked function: kind_of decides, in Python */
            answer = code == acm_code || marked ? PyList_Append(left, item) : 0;
        }
        goto done; /* else a plain method */
    }
    if (fn_dict != NULL && PyDict_GET_SIZE(fn_dict)) {
        PyObject *only = PyDict_GetItemWithError(fn_dict, async_only);
        if (only == NULL && PyErr_Occurred()) {
            goto done;
        }
        Py_XINCREF(only);
        int truth = only == NULL ? 0 : PyObject_IsTrue(only);
        Py_XDECREF(only);
        if (truth != 0) { /* @async_only: left as written; or an error */
            answer = truth > 0 ? 0 : -1;
            goto done;
        }
    }
    dual = member_dual(dual_type, attr, kind, fn_dict);
    if (dual != NULL) {
        answer = PyType_Type.tp_setattro(cls, name, dual);
    }
done:
    Py_XDECREF(dual);
    Py_XDECREF(fn_dict);
    return answer;
}

static PyObject *
walk_own(PyObject *module, PyObject *args)
{
    PyObject *cls, *items, *coroutine, *asyncgen, *acm_code, *async_only, *marker;
    PyTypeObject *dual_type;
    if (!PyArg_ParseTuple(args, "O!O!O!OOOUU:walk_own", &PyType_Type, &cls, &PyList_Type, &items,
                          &PyType_Type, &dual_type, &coroutine, &asyncgen, &acm_code,
                          &async_only, &marker)) {
        return NULL;
    }
    if (!PyType_IsSubtype(dual_type, &FunctionType)) {
        PyErr_SetString(PyExc_TypeError, "walk_own(): the dual type must subclass Function");
        return NULL;
    }
    PyObject *left = PyList_New(0);
    if (left == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(items); i++) {
        PyObject *item = Py_NewRef(PyList_GET_ITEM(items, i));
        int done = walk_item(cls, item, dual_type, coroutine, asyncgen, acm_code, async_only,
                             marker, left);
        Py_DECREF(item);
        if (done < 0) {
            Py_DECREF(left);
            return NULL;
        }
    }
    return left;
}

static PyObject *
usable(PyObject *module, PyObject *unused)
{
    return PyBool_FromLong(OWNER == NULL || OWNER == PyInterpreterState_Get());
}

static PyMethodDef methods[] = {
    {"usable", usable, METH_NOARGS, "Whether this interpreter may use the module."},
    {"walk_own", walk_own, METH_VARARGS,
     "walk_own(cls, items, DualFunction, COROUTINE, ASYNCGEN, acm_code, async_only_mark, "
     "coroutine_marker): the class walk's common case; returns what it left."},
    {"configure", configure, METH_VARARGS, "Hand over the call rule's objects (once)."},
    {"arm", arm, METH_VARARGS, "arm(dual, bound_type, fn, name, flags): a specialised dual."},
    {"bind", bind, METH_VARARGS, "bind(type, obj, qualname, dual): a new bound object."},
    {"armed", armed, METH_O, "armed(obj): the C calls of a bound object or function swapped in place."},
    {NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_smartasync_speedups", "smartasync's optional accelerator (private).",
    -1, methods,
};

PyMODINIT_FUNC
PyInit__smartasync_speedups(void)
{
    /* object's own tp_new, so that object.__new__(Sub) accepts the Python
     * subclasses (tp_new_wrapper refuses a static base with another tp_new,
     * and PyType_Ready would leave a NULL one disallowing instantiation). */
    FunctionType.tp_new = PyBaseObject_Type.tp_new;
    BoundType.tp_new = PyBaseObject_Type.tp_new;
    if (PyType_Ready(&FunctionType) < 0 || PyType_Ready(&BoundType) < 0) {
        return NULL;
    }
    ZERO = PyLong_FromLong(0);
    if (ZERO == NULL) {
        return NULL;
    }
    STR_HOT = PyUnicode_InternFromString("hot");
    STR_PLAIN = PyUnicode_InternFromString("plain");
    STR_THREAD_ID = PyUnicode_InternFromString("_thread_id");
    if (STR_HOT == NULL || STR_PLAIN == NULL || STR_THREAD_ID == NULL) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&module_def);
    if (m == NULL) {
        return NULL;
    }
    if (PyModule_AddObjectRef(m, "Function", (PyObject *)&FunctionType) < 0
        || PyModule_AddObjectRef(m, "Bound", (PyObject *)&BoundType) < 0
        || PyModule_AddIntConstant(m, "ABI", ABI) < 0
        || PyModule_AddIntConstant(m, "SMART", F_SMART) < 0
        || PyModule_AddIntConstant(m, "FAST", F_FAST) < 0
        || PyModule_AddIntConstant(m, "COROUTINE", F_COROUTINE) < 0
        || PyModule_AddIntConstant(m, "CLASSMETHOD", F_CLASSMETHOD) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
