/* version.h - the release version, one place. */
#ifndef ML_VERSION_H
#define ML_VERSION_H
#define MASKLOAD_VERSION "0.1.0"
#endif
