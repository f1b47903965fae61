// kNN lists -> undirected weighted graph, one edge per pair, no self-loops.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "graph_core.hpp"

namespace imrt {

KnnMode parse_mode(const std::string& s) {
    if (s == "union") return KnnMode::Union;
    if (s == "mutual") return KnnMode::Mutual;
    throw std::invalid_argument("mode must be 'union' or 'mutual', got '" + s + "'");
}

Weighting parse_weighting(const std::string& s) {
    if (s == "gaussian") return Weighting::Gaussian;
    if (s == "inverse") return Weighting::Inverse;
    if (s == "distance") return Weighting::Distance;
    throw std::invalid_argument("weighting must be 'gaussian', 'inverse' or 'distance', got '" + s + "'");
}

namespace {

struct HalfEdge {
    int64_t u, v;   // u < v
    double d;       // distance as seen from one side
    uint8_t side;   // 1: found in u's list, 2: found in v's list
};

constexpr double kMinWeight = 1e-12;  // Infomap needs positive weights; underflow is clamped here

}  // namespace

std::vector<Edge> build_knn_graph(int64_t n, int64_t k, const int64_t* idx, const double* dist,
                                  KnnMode mode, Weighting weighting, int64_t scale_k) {
    if (n < 0 || k < 0) throw std::invalid_argument("n and k must be >= 0");
    if (scale_k < 1) throw std::invalid_argument("scale_k must be >= 1, got " + std::to_string(scale_k));
    std::vector<HalfEdge> half;
    half.reserve(static_cast<size_t>(n * k));
    std::vector<double> sigma(static_cast<size_t>(n), 0.0);
    double pos_sum = 0.0;
    int64_t pos_count = 0;
    for (int64_t i = 0; i < n; ++i) {
        int64_t valid = 0;
        double last = 0.0;
        for (int64_t c = 0; c < k; ++c) {
            const int64_t j = idx[i * k + c];
            const double d = dist[i * k + c];
            if (j < -1 || j >= n)
                throw std::invalid_argument("neighbour index " + std::to_string(j) + " in row " +
                                            std::to_string(i) + " is out of range [0, " + std::to_string(n) + ")");
            if (j == -1 || j == i) continue;
            if (!std::isfinite(d)) throw std::invalid_argument("distance in row " + std::to_string(i) + " is NaN or infinite");
            if (d < 0) throw std::invalid_argument("distance in row " + std::to_string(i) + " is negative");
            ++valid;
            last = d;
            if (valid == scale_k) sigma[i] = d;
            if (d > 0) { pos_sum += d; ++pos_count; }
            if (i < j) half.push_back({i, j, d, 1});
            else half.push_back({j, i, d, 2});
        }
        if (valid < scale_k) sigma[i] = last;  // fewer neighbours than the scale rank: farthest one
    }
    // A floor keeps duplicates (distance 0) finite: 1e-3 of the mean positive kNN distance.
    const double eps = pos_count > 0 ? 1e-3 * pos_sum / static_cast<double>(pos_count) : 1.0;
    for (auto& s : sigma) s = std::max(s, eps);

    std::sort(half.begin(), half.end(), [](const HalfEdge& a, const HalfEdge& b) {
        return a.u != b.u ? a.u < b.u : a.v < b.v;
    });
    std::vector<Edge> out;
    out.reserve(half.size());
    for (size_t s = 0; s < half.size();) {
        size_t e = s;
        uint8_t sides = 0;
        double d = half[s].d;
        // The two sides can disagree in the last float bits: keep the smaller distance.
        for (; e < half.size() && half[e].u == half[s].u && half[e].v == half[s].v; ++e) {
            sides |= half[e].side;
            d = std::min(d, half[e].d);
        }
        if (mode == KnnMode::Union || sides == 3) {
            const int64_t u = half[s].u, v = half[s].v;
            double w;
            switch (weighting) {
                case Weighting::Gaussian: w = std::exp(-(d * d) / (sigma[u] * sigma[v])); break;
                case Weighting::Inverse: w = 1.0 / (d + eps); break;
                default: w = std::max(d, eps); break;
            }
            out.push_back({u, v, std::max(w, kMinWeight)});
        }
        s = e;
    }
    return out;
}

}  // namespace imrt
