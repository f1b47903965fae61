// pybind11 boundary of the native core. The only file that knows about Python.
// Every array is checked here (dtype, shape) before the plain C++ core sees a raw pointer;
// value checks (NaN, ranges, negative weights) throw std::invalid_argument in the core, which
// pybind11 turns into ValueError.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <stdexcept>
#include <string>

#include "graph_core.hpp"

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

// Exact dtype and ndim, then a C-contiguous view (copies only if strided; never casts).
template <typename T>
py::array_t<T, py::array::c_style> checked(const py::handle& obj, const char* name, int ndim) {
    if (!py::isinstance<py::array>(obj))
        throw py::value_error(std::string(name) + " must be a numpy array");
    auto arr = py::reinterpret_borrow<py::array>(obj);
    if (!arr.dtype().is(py::dtype::of<T>()))
        throw py::value_error(std::string(name) + " must have dtype " +
                              py::str(py::dtype::of<T>()).cast<std::string>() + ", got " +
                              py::str(arr.dtype()).cast<std::string>());
    if (arr.ndim() != ndim)
        throw py::value_error(std::string(name) + " must be " + std::to_string(ndim) + "-D, got " +
                              std::to_string(arr.ndim()) + "-D");
    return py::array_t<T, py::array::c_style>::ensure(arr);
}

py::array_t<double> edges_to_array(const std::vector<imrt::Edge>& edges) {
    py::array_t<double> out({static_cast<py::ssize_t>(edges.size()), static_cast<py::ssize_t>(3)});
    auto m = out.mutable_unchecked<2>();
    for (size_t r = 0; r < edges.size(); ++r) {
        m(r, 0) = static_cast<double>(edges[r].u);
        m(r, 1) = static_cast<double>(edges[r].v);
        m(r, 2) = edges[r].w;
    }
    return out;
}

py::array_t<double> vec(const std::vector<double>& v) {
    return py::array_t<double>(static_cast<py::ssize_t>(v.size()), v.data());
}

py::array_t<double> knn_graph(const py::object& idx_obj, const py::object& dist_obj,
                              const std::string& mode, const std::string& weighting, int64_t scale_k) {
    auto idx = checked<int64_t>(idx_obj, "indices", 2);
    auto dist = checked<double>(dist_obj, "distances", 2);
    if (idx.shape(0) != dist.shape(0) || idx.shape(1) != dist.shape(1))
        throw py::value_error("indices and distances must have the same shape, got (" +
                              std::to_string(idx.shape(0)) + ", " + std::to_string(idx.shape(1)) + ") and (" +
                              std::to_string(dist.shape(0)) + ", " + std::to_string(dist.shape(1)) + ")");
    const auto m = imrt::parse_mode(mode);
    const auto w = imrt::parse_weighting(weighting);
    std::vector<imrt::Edge> edges;
    {
        py::gil_scoped_release release;
        edges = imrt::build_knn_graph(idx.shape(0), idx.shape(1), idx.data(), dist.data(), m, w, scale_k);
    }
    return edges_to_array(edges);
}

py::dict modular(int64_t n, const py::object& edges_obj, const py::object& comm_obj,
                 double damping, double tol, int max_iter) {
    auto edges = checked<double>(edges_obj, "edges", 2);
    auto comm = checked<int64_t>(comm_obj, "communities", 1);
    if (edges.shape(1) != 3)
        throw py::value_error("edges must have shape (E, 3), got (" + std::to_string(edges.shape(0)) +
                              ", " + std::to_string(edges.shape(1)) + ")");
    if (n < 0 || comm.shape(0) != n)
        throw py::value_error("communities must have length n=" + std::to_string(n) + ", got " +
                              std::to_string(comm.shape(0)));
    imrt::ModularCentrality mc;
    {
        py::gil_scoped_release release;
        mc = imrt::modular_centrality(n, edges.shape(0), edges.data(), comm.data(), damping, tol, max_iter);
    }
    py::dict out;
    out["alpha"] = vec(mc.alpha);
    out["local_degree"] = vec(mc.local_degree);
    out["global_degree"] = vec(mc.global_degree);
    out["local_pagerank"] = vec(mc.local_pagerank);
    out["global_pagerank"] = vec(mc.global_pagerank);
    out["degree"] = vec(mc.mc_degree);
    out["pagerank"] = vec(mc.mc_pagerank);
    out["pagerank_iterations"] = mc.pagerank_iterations;
    return out;
}

py::array_t<int64_t> spread(const py::object& comm_obj, const py::object& score_obj, int64_t vpc) {
    auto comm = checked<int64_t>(comm_obj, "communities", 1);
    auto score = checked<double>(score_obj, "scores", 1);
    if (comm.shape(0) != score.shape(0))
        throw py::value_error("communities and scores must have the same length, got " +
                              std::to_string(comm.shape(0)) + " and " + std::to_string(score.shape(0)));
    std::vector<int64_t> picked;
    {
        py::gil_scoped_release release;
        picked = imrt::select_spread(comm.shape(0), comm.data(), score.data(), vpc);
    }
    return py::array_t<int64_t>(static_cast<py::ssize_t>(picked.size()), picked.data());
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
    m.def("knn_graph", &knn_graph, py::arg("indices"), py::arg("distances"), py::arg("mode") = "union",
          py::arg("weighting") = "gaussian", py::arg("scale_k") = 7,
          "kNN lists (n,k) int64 / float64 -> undirected edges (E,3) float64 (u < v, one per pair).");
    m.def("modular_centrality", &modular, py::arg("n"), py::arg("edges"), py::arg("communities"),
          py::arg("damping") = 0.85, py::arg("tol") = 1e-12, py::arg("max_iter") = 1000,
          "Modular centrality (Ghalmane et al. 2019) over weighted degree and PageRank.");
    m.def("select_spread", &spread, py::arg("communities"), py::arg("scores"), py::arg("vpc"),
          "Round-robin over communities (largest first), highest score first in each.");
}
