// fieldsync/calendar.h: proleptic Gregorian calendar arithmetic in UTC, with no time zone and
// no OS call (timegm() and gmtime() depend on the process's TZ and C library).
//
// Days are counted from 1970-01-01 (day 0); the conversions are Howard Hinnant's
// days_from_civil / civil_from_days, exact for every int64 day in range.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>

namespace fieldsync::calendar {

struct CivilDate {
  int64_t year = 1970;
  int month = 1;  // 1..12
  int day = 1;    // 1..31
};

// Division rounding toward negative infinity (days before 1970 are negative).
int64_t FloorDiv(int64_t a, int64_t b);
bool IsLeapYear(int64_t year);
// Days in `month` (1..12) of `year`.
int DaysInMonth(int64_t year, int month);
// Days since 1970-01-01 of a date; the date need not be valid (month and day are not checked).
int64_t DaysFromCivil(int64_t year, int month, int day);
CivilDate CivilFromDays(int64_t days);
// "YYYY-MM-DD" of a day number.
std::string FormatDate(int64_t days);

}  // namespace fieldsync::calendar
