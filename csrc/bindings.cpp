// pybind11 boundary of the native core. The only file that knows about Python.
#include <pybind11/pybind11.h>

#include <string>

namespace py = pybind11;

namespace {

std::string compiler_id() {
#if defined(__clang__)
    return "clang " __clang_version__;
#elif defined(__GNUC__)
    return "gcc " __VERSION__;
#elif defined(_MSC_VER)
    return "msvc " + std::to_string(_MSC_VER);
#else
    return "unknown";
#endif
}

}  // namespace

PYBIND11_MODULE(_core, m) {
    m.doc() = "infomotion-rt native graph core";
    m.def("build_info", [] {
        py::dict info;
        info["version"] = INFOMOTION_VERSION;
        info["compiler"] = compiler_id();
        info["cplusplus"] = static_cast<long>(__cplusplus);
        return info;
    }, "Version and compiler of the compiled core.");
}
