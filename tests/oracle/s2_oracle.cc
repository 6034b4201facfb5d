/*
 * s2_oracle.cc — the extern "C" shim over libs2 declared in s2_oracle.h (tests only).
 *
 * Thin on purpose: each function builds the libs2 object from plain values, asks one
 * question, and converts the answer back. No C++ exception may reach the C caller, so
 * every body sits in try/catch(...) and returns the header's failure value.
 */
#include "s2_oracle.h"

#include <cstring>
#include <string>
#include <vector>

#include <s2/s1angle.h>
#include <s2/s2cap.h>
#include <s2/s2cell.h>
#include <s2/s2cell_id.h>
#include <s2/s2latlng.h>
#include <s2/s2latlng_rect.h>
#include <s2/s2metrics.h>
#include <s2/s2region_coverer.h>

namespace {

S2Point pt(const double p[3]) { return S2Point(p[0], p[1], p[2]); }

void put(const S2Point &s, double p[3]) {
    p[0] = s.x();
    p[1] = s.y();
    p[2] = s.z();
}

S2Cap cap_of(const double c[3], double angle) {
    return S2Cap(pt(c), S1Angle::Radians(angle));
}

} // namespace

extern "C" {

uint64_t vso_s2_from_latlng(double lat_deg, double lng_deg) {
    try {
        return S2CellId(S2LatLng::FromDegrees(lat_deg, lng_deg)).id();
    } catch (...) {
        return 0;
    }
}

uint64_t vso_s2_from_point(const double p[3]) {
    try {
        return S2CellId(pt(p)).id();
    } catch (...) {
        return 0;
    }
}

void vso_s2_latlng_to_point(double lat_deg, double lng_deg, double p[3]) {
    try {
        put(S2LatLng::FromDegrees(lat_deg, lng_deg).ToPoint(), p);
    } catch (...) {
        p[0] = p[1] = p[2] = 0;
    }
}

uint64_t vso_s2_parent(uint64_t id, int level) {
    try {
        return S2CellId(id).parent(level).id();
    } catch (...) {
        return 0;
    }
}

uint64_t vso_s2_child(uint64_t id, int pos) {
    try {
        return S2CellId(id).child(pos).id();
    } catch (...) {
        return 0;
    }
}

int vso_s2_level(uint64_t id) {
    try {
        return S2CellId(id).level();
    } catch (...) {
        return -1;
    }
}

int vso_s2_face(uint64_t id) {
    try {
        return S2CellId(id).face();
    } catch (...) {
        return -1;
    }
}

int vso_s2_is_valid(uint64_t id) {
    try {
        return S2CellId(id).is_valid() ? 1 : 0;
    } catch (...) {
        return -1;
    }
}

uint64_t vso_s2_range_min(uint64_t id) {
    try {
        return S2CellId(id).range_min().id();
    } catch (...) {
        return 0;
    }
}

uint64_t vso_s2_range_max(uint64_t id) {
    try {
        return S2CellId(id).range_max().id();
    } catch (...) {
        return 0;
    }
}

size_t vso_s2_to_token(uint64_t id, char *buf) {
    try {
        std::string t = S2CellId(id).ToToken();
        if (t.size() > 16) return 0;
        std::memcpy(buf, t.c_str(), t.size() + 1);
        return t.size();
    } catch (...) {
        return 0;
    }
}

uint64_t vso_s2_from_token(const char *s, size_t len) {
    try {
        return S2CellId::FromToken(absl::string_view(s, len)).id();
    } catch (...) {
        return 0;
    }
}

void vso_s2_center(uint64_t id, double p[3]) {
    try {
        put(S2CellId(id).ToPoint(), p);
    } catch (...) {
        p[0] = p[1] = p[2] = 0;
    }
}

void vso_s2_center_latlng(uint64_t id, double *lat_deg, double *lng_deg) {
    try {
        S2LatLng ll = S2CellId(id).ToLatLng();
        *lat_deg = ll.lat().degrees();
        *lng_deg = ll.lng().degrees();
    } catch (...) {
        *lat_deg = *lng_deg = 0;
    }
}

void vso_s2_vertex(uint64_t id, int k, double p[3]) {
    try {
        put(S2Cell(S2CellId(id)).GetVertex(k), p);
    } catch (...) {
        p[0] = p[1] = p[2] = 0;
    }
}

int vso_s2_rect_bound(uint64_t id, double out[4]) {
    try {
        S2LatLngRect r = S2Cell(S2CellId(id)).GetRectBound();
        out[0] = r.lat().lo();
        out[1] = r.lat().hi();
        out[2] = r.lng().lo();
        out[3] = r.lng().hi();
        return r.lng().is_full() ? 1 : 0;
    } catch (...) {
        return -1;
    }
}

void vso_s2_cap_bound(uint64_t id, double center[3], double *angle) {
    try {
        S2Cap c = S2Cell(S2CellId(id)).GetCapBound();
        put(c.center(), center);
        *angle = c.GetRadius().radians();
    } catch (...) {
        center[0] = center[1] = center[2] = 0;
        *angle = -1;
    }
}

double vso_s2_exact_area(uint64_t id) {
    try {
        return S2Cell(S2CellId(id)).ExactArea();
    } catch (...) {
        return -1;
    }
}

int vso_s2_level_for_min_edge(double angle) {
    try {
        return S2::kMinEdge.GetLevelForMinValue(angle);
    } catch (...) {
        return -1;
    }
}

int vso_s2_cap_may_intersect(const double center[3], double angle, uint64_t id) {
    try {
        return cap_of(center, angle).MayIntersect(S2Cell(S2CellId(id))) ? 1 : 0;
    } catch (...) {
        return -1;
    }
}

int vso_s2_cap_contains_cell(const double center[3], double angle, uint64_t id) {
    try {
        return cap_of(center, angle).Contains(S2Cell(S2CellId(id))) ? 1 : 0;
    } catch (...) {
        return -1;
    }
}

int vso_s2_cap_contains_point(const double center[3], double angle, const double p[3]) {
    try {
        return cap_of(center, angle).Contains(pt(p)) ? 1 : 0;
    } catch (...) {
        return -1;
    }
}

double vso_s2_cap_area(const double center[3], double angle) {
    try {
        return cap_of(center, angle).GetArea();
    } catch (...) {
        return -1;
    }
}

long vso_s2_cap_covering(const double center[3], double angle, int max_cells, int min_level,
                         int max_level, uint64_t *out, size_t cap) {
    try {
        S2RegionCoverer::Options opt;
        opt.set_max_cells(max_cells);
        opt.set_min_level(min_level);
        opt.set_max_level(max_level);
        S2RegionCoverer coverer(opt);
        std::vector<S2CellId> cells;
        coverer.GetCovering(cap_of(center, angle), &cells);
        for (size_t k = 0; k < cells.size() && k < cap; k++) out[k] = cells[k].id();
        return static_cast<long>(cells.size());
    } catch (...) {
        return -1;
    }
}

} // extern "C"
