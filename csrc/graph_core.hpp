// Plain C++ graph core: kNN graph build, modular centrality, community-spread selection.
// No Python here; bindings.cpp converts arrays and maps std::invalid_argument to ValueError.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace imrt {

struct Edge {
    int64_t u;
    int64_t v;
    double w;
};

enum class KnnMode { Union, Mutual };
// Gaussian: self-tuning local scale exp(-d^2 / (sigma_i sigma_j)), sigma_i = distance to the
// scale_k-th neighbour. Inverse: 1 / (d + eps). Distance: w = max(d, eps) (paper-literal mode).
enum class Weighting { Gaussian, Inverse, Distance };

KnnMode parse_mode(const std::string& s);
Weighting parse_weighting(const std::string& s);

// idx/dist are row-major n x k; idx == -1 marks a missing neighbour, idx == row is the point
// itself and is skipped. Returns one edge per unordered pair (u < v), sorted by (u, v).
std::vector<Edge> build_knn_graph(int64_t n, int64_t k, const int64_t* idx, const double* dist,
                                  KnnMode mode, Weighting weighting, int64_t scale_k);

struct ModularCentrality {
    std::vector<double> alpha;            // share of internal weight of the node's community
    std::vector<double> local_degree;     // weighted degree over intra-community links
    std::vector<double> global_degree;    // weighted degree over inter-community links
    std::vector<double> local_pagerank;   // PageRank on the intra-community graph
    std::vector<double> global_pagerank;  // PageRank on the inter-community graph
    std::vector<double> mc_degree;        // alpha * L/max(L) + (1 - alpha) * G/max(G)
    std::vector<double> mc_pagerank;
    int pagerank_iterations = 0;          // max over the two PageRank runs
};

// edges: E x 3 row-major (u, v, w) with integral u, v in [0, n), w finite and >= 0, u != v.
ModularCentrality modular_centrality(int64_t n, int64_t n_edges, const double* edges,
                                     const int64_t* community, double damping, double tol,
                                     int max_iter);

// Weighted PageRank (networkx semantics: uniform teleport, dangling mass spread uniformly).
std::vector<double> pagerank(int64_t n, const std::vector<Edge>& edges, double damping,
                             double tol, int max_iter, int* iterations);

// Round-robin over communities (largest first, ties by smallest member index), highest score
// first inside each community (ties by index). Returns min(vpc, n) node indices in pick order.
std::vector<int64_t> select_spread(int64_t n, const int64_t* community, const double* score,
                                   int64_t vpc);

}  // namespace imrt
