// rerank._rerank: the module, and C++ errors as Python exceptions with the C++ messages.
//
//   rerank::ModelError  -> rerank.ModelError   (Python: subclass of rerank.Error and ValueError)
//   rerank::InputError  -> rerank.InputError   (rerank.Error, ValueError)
//   rerank::HubError    -> rerank.HubError     (rerank.Error, OSError)
//   rerank::RemoteError -> rerank.RemoteError  (rerank.Error, ConnectionError)
//   other rerank::Error -> rerank.Error        (Exception)
// The classes are created here (so the extension alone is usable); python/rerank/__init__.py re-exports them.
#include <nanobind/nanobind.h>

#include "bindings.hpp"
#include "rerank/error.hpp"
#include "rerank/hub.hpp"

namespace nb = nanobind;

namespace {

PyObject* make_exception(nb::module_& m, const char* name, PyObject* bases, const char* doc) {
  const std::string qualified = std::string("rerank.") + name;
  PyObject* cls = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases, nullptr);
  if (!cls) throw nb::python_error();
  m.attr(name) = nb::handle(cls);
  return cls;
}

PyObject* tuple_of(PyObject* a, PyObject* b) { return PyTuple_Pack(2, a, b); }

}  // namespace

NB_MODULE(_rerank, m) {
  m.doc() = "rerank's C++ engine (use the `rerank` package, not this module)";
  static PyObject* error = make_exception(m, "Error", nullptr, "Base of the errors rerank reports to a user.");
  static PyObject* model_error = make_exception(m, "ModelError", tuple_of(error, PyExc_ValueError),
                                                "A model directory or one of its files is missing, unreadable or inconsistent.");
  static PyObject* input_error =
      make_exception(m, "InputError", tuple_of(error, PyExc_ValueError), "A request (texts, options) is malformed.");
  static PyObject* hub_error = make_exception(m, "HubError", tuple_of(error, PyExc_OSError),
                                              "The Hugging Face Hub or its cache could not give a model.");
  static PyObject* remote_error =
      make_exception(m, "RemoteError", tuple_of(error, PyExc_ConnectionError), "A remote service failed.");
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const rerank::ModelError& e) {
      PyErr_SetString(model_error, e.what());
    } catch (const rerank::InputError& e) {
      PyErr_SetString(input_error, e.what());
    } catch (const rerank::HubError& e) {
      PyErr_SetString(hub_error, e.what());
    } catch (const rerank::RemoteError& e) {
      PyErr_SetString(remote_error, e.what());
    } catch (const rerank::Error& e) {
      PyErr_SetString(error, e.what());
    }
  });
  rerank::python::bind_hub(m);
  rerank::python::bind_encoders(m);
  rerank::python::bind_collection(m);
  rerank::python::bind_opensearch(m);
}
