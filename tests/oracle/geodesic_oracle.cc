/*
 * geodesic_oracle.cc — GeographicLib's WGS84 inverse geodesic for the tests
 * (geodesic_oracle.h). Nothing may escape into C: every exception becomes -1.
 */
#include "geodesic_oracle.h"

#include <GeographicLib/Geodesic.hpp>

#include <cmath>

extern "C" int vso_geodesic_inverse(double lat1, double lon1, double lat2, double lon2,
                                    double *s12) {
    try {
        double s = 0;
        GeographicLib::Geodesic::WGS84().Inverse(lat1, lon1, lat2, lon2, s);
        if (std::isnan(s)) return -1;
        *s12 = s;
        return 0;
    } catch (...) {
        return -1;
    }
}
