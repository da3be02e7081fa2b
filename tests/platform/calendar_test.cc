// tests/platform/calendar_test.cc: Gregorian day arithmetic, against dates known by heart.
#include "fieldsync/calendar.h"

#include <doctest/doctest.h>

namespace fieldsync::calendar {
namespace {

TEST_CASE("known dates map to their day numbers and back") {
  CHECK(DaysFromCivil(1970, 1, 1) == 0);
  CHECK(DaysFromCivil(1969, 12, 31) == -1);
  CHECK(DaysFromCivil(2000, 3, 1) - DaysFromCivil(2000, 2, 28) == 2);  // 2000 is a leap year
  CHECK(DaysFromCivil(1900, 3, 1) - DaysFromCivil(1900, 2, 28) == 1);  // 1900 is not
  CHECK(DaysFromCivil(2026, 11, 23) == 20780);  // datetime.date(2026, 11, 23) - 1970-01-01
  CHECK(FormatDate(20780) == "2026-11-23");
  CHECK(FormatDate(-1) == "1969-12-31");
}

TEST_CASE("every day from 1600 to 2400 round-trips and follows the previous one") {
  int64_t previous = DaysFromCivil(1599, 12, 31);
  for (int64_t year = 1600; year <= 2400; ++year) {
    for (int month = 1; month <= 12; ++month) {
      for (int day = 1; day <= DaysInMonth(year, month); ++day) {
        const int64_t days = DaysFromCivil(year, month, day);
        REQUIRE(days == previous + 1);
        const CivilDate back = CivilFromDays(days);
        REQUIRE(back.year == year);
        REQUIRE(back.month == month);
        REQUIRE(back.day == day);
        previous = days;
      }
    }
  }
}

TEST_CASE("floor division rounds toward negative infinity") {
  CHECK(FloorDiv(7, 2) == 3);
  CHECK(FloorDiv(-7, 2) == -4);
  CHECK(FloorDiv(-8, 2) == -4);
  CHECK(FloorDiv(-1, 86400000) == -1);
}

}  // namespace
}  // namespace fieldsync::calendar
