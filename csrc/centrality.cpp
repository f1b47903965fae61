// Modular centrality after Ghalmane et al. (2019), over weighted degree and PageRank.
//
// The graph is split in two: the local graph keeps intra-community links, the global graph keeps
// inter-community links. A base centrality is computed on each (local part L, global part G).
// Community c mixes them with alpha_c = W_in(c) / (W_in(c) + W_out(c)), W_in the summed weight of
// links inside c and W_out of links leaving c (alpha = 1 for a community with no links):
//     MC(i) = alpha_c(i) * L(i) / max_j L(j) + (1 - alpha_c(i)) * G(i) / max_j G(j)
// (parts normalised by their graph-wide maximum so both lie in [0, 1]; a part that is 0 everywhere
// stays 0).
#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>
#include <string>

#include "graph_core.hpp"

namespace imrt {

std::vector<double> pagerank(int64_t n, const std::vector<Edge>& edges, double damping,
                             double tol, int max_iter, int* iterations) {
    std::vector<double> strength(static_cast<size_t>(n), 0.0);
    for (const auto& e : edges) { strength[e.u] += e.w; strength[e.v] += e.w; }
    // CSR adjacency with transition weights w / strength(source).
    std::vector<int64_t> start(static_cast<size_t>(n) + 1, 0);
    for (const auto& e : edges) { ++start[e.u + 1]; ++start[e.v + 1]; }
    for (int64_t i = 0; i < n; ++i) start[i + 1] += start[i];
    std::vector<int64_t> fill(start.begin(), start.end() - 1), nbr(static_cast<size_t>(start[n]));
    std::vector<double> wt(static_cast<size_t>(start[n]));
    for (const auto& e : edges) {
        nbr[fill[e.u]] = e.v; wt[fill[e.u]++] = e.w;
        nbr[fill[e.v]] = e.u; wt[fill[e.v]++] = e.w;
    }
    const double inv_n = n > 0 ? 1.0 / static_cast<double>(n) : 0.0;
    std::vector<double> x(static_cast<size_t>(n), inv_n), next(static_cast<size_t>(n));
    int it = 0;
    for (; it < max_iter; ++it) {
        double dangling = 0.0;
        for (int64_t i = 0; i < n; ++i) if (strength[i] <= 0) dangling += x[i];
        const double base = (1.0 - damping) * inv_n + damping * dangling * inv_n;
        std::fill(next.begin(), next.end(), base);
        for (int64_t i = 0; i < n; ++i) {
            if (strength[i] <= 0) continue;
            const double out = damping * x[i] / strength[i];
            for (int64_t p = start[i]; p < start[i + 1]; ++p) next[nbr[p]] += out * wt[p];
        }
        double change = 0.0;
        for (int64_t i = 0; i < n; ++i) change += std::fabs(next[i] - x[i]);
        x.swap(next);
        if (change < tol * static_cast<double>(n)) { ++it; break; }
    }
    if (iterations) *iterations = it;
    return x;
}

namespace {

std::vector<double> normalised(const std::vector<double>& v) {
    double m = 0.0;
    for (double a : v) m = std::max(m, a);
    std::vector<double> out(v.size(), 0.0);
    if (m > 0) for (size_t i = 0; i < v.size(); ++i) out[i] = v[i] / m;
    return out;
}

}  // namespace

ModularCentrality modular_centrality(int64_t n, int64_t n_edges, const double* edges,
                                     const int64_t* community, double damping, double tol,
                                     int max_iter) {
    if (n < 0 || n_edges < 0) throw std::invalid_argument("n and the edge count must be >= 0");
    if (!(damping > 0 && damping < 1)) throw std::invalid_argument("damping must be in (0, 1)");
    for (int64_t i = 0; i < n; ++i)
        if (community[i] < 0)
            throw std::invalid_argument("community of node " + std::to_string(i) + " is negative");
    std::vector<Edge> local, global;
    for (int64_t r = 0; r < n_edges; ++r) {
        const double fu = edges[3 * r], fv = edges[3 * r + 1], w = edges[3 * r + 2];
        const std::string row = "edge row " + std::to_string(r);
        if (std::isnan(fu) || std::isnan(fv) || std::isnan(w)) throw std::invalid_argument(row + " contains NaN");
        if (!std::isfinite(w)) throw std::invalid_argument(row + " has an infinite weight");
        if (w < 0) throw std::invalid_argument(row + " has a negative weight");
        if (fu != std::floor(fu) || fv != std::floor(fv)) throw std::invalid_argument(row + " has a non-integer node id");
        if (fu < 0 || fv < 0 || fu >= static_cast<double>(n) || fv >= static_cast<double>(n))
            throw std::invalid_argument(row + " has a node id out of range [0, " + std::to_string(n) + ")");
        const auto u = static_cast<int64_t>(fu), v = static_cast<int64_t>(fv);
        if (u == v) throw std::invalid_argument(row + " is a self-loop");
        (community[u] == community[v] ? local : global).push_back({u, v, w});
    }
    ModularCentrality mc;
    mc.local_degree.assign(static_cast<size_t>(n), 0.0);
    mc.global_degree.assign(static_cast<size_t>(n), 0.0);
    std::map<int64_t, double> w_in, w_out;
    for (const auto& e : local) {
        mc.local_degree[e.u] += e.w; mc.local_degree[e.v] += e.w;
        w_in[community[e.u]] += e.w;
    }
    for (const auto& e : global) {
        mc.global_degree[e.u] += e.w; mc.global_degree[e.v] += e.w;
        w_out[community[e.u]] += e.w; w_out[community[e.v]] += e.w;
    }
    mc.alpha.assign(static_cast<size_t>(n), 1.0);
    for (int64_t i = 0; i < n; ++i) {
        const double a = w_in.count(community[i]) ? w_in[community[i]] : 0.0;
        const double b = w_out.count(community[i]) ? w_out[community[i]] : 0.0;
        if (a + b > 0) mc.alpha[i] = a / (a + b);
    }
    int it_l = 0, it_g = 0;
    mc.local_pagerank = pagerank(n, local, damping, tol, max_iter, &it_l);
    mc.global_pagerank = pagerank(n, global, damping, tol, max_iter, &it_g);
    mc.pagerank_iterations = std::max(it_l, it_g);
    auto combine = [&](const std::vector<double>& l, const std::vector<double>& g) {
        const auto ln = normalised(l), gn = normalised(g);
        std::vector<double> out(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) out[i] = mc.alpha[i] * ln[i] + (1.0 - mc.alpha[i]) * gn[i];
        return out;
    };
    mc.mc_degree = combine(mc.local_degree, mc.global_degree);
    mc.mc_pagerank = combine(mc.local_pagerank, mc.global_pagerank);
    return mc;
}

}  // namespace imrt
