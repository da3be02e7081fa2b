// wire_format.h placeholder
