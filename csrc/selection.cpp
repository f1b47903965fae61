// VPC nodes spread uniformly over communities: round-robin, best-scored first in each community.
#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>
#include <string>

#include "graph_core.hpp"

namespace imrt {

std::vector<int64_t> select_spread(int64_t n, const int64_t* community, const double* score,
                                   int64_t vpc) {
    if (vpc < 0) throw std::invalid_argument("vpc must be >= 0, got " + std::to_string(vpc));
    std::map<int64_t, std::vector<int64_t>> members;
    for (int64_t i = 0; i < n; ++i) {
        if (std::isnan(score[i])) throw std::invalid_argument("score of node " + std::to_string(i) + " is NaN");
        members[community[i]].push_back(i);
    }
    std::vector<std::vector<int64_t>> groups;
    groups.reserve(members.size());
    for (auto& kv : members) {
        auto& g = kv.second;  // already in index order, so stable_sort breaks ties by index
        std::stable_sort(g.begin(), g.end(), [&](int64_t a, int64_t b) { return score[a] > score[b]; });
        groups.push_back(std::move(g));
    }
    // Larger communities first; equal sizes by their smallest member index (deterministic).
    std::sort(groups.begin(), groups.end(), [](const auto& a, const auto& b) {
        if (a.size() != b.size()) return a.size() > b.size();
        return *std::min_element(a.begin(), a.end()) < *std::min_element(b.begin(), b.end());
    });
    std::vector<int64_t> picked;
    const int64_t want = std::min(vpc, n);
    picked.reserve(static_cast<size_t>(want));
    for (size_t round = 0; static_cast<int64_t>(picked.size()) < want; ++round)
        for (const auto& g : groups) {
            if (static_cast<int64_t>(picked.size()) == want) break;
            if (round < g.size()) picked.push_back(g[round]);
        }
    return picked;
}

}  // namespace imrt
