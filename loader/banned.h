/* banned.h - functions that must not be used in maskload.
 * Include last in every .c file. strcpy/strcat/sprintf overflow silently,
 * strtok keeps hidden state, gets cannot be used safely. Use struct buf,
 * snprintf, memcpy with explicit lengths, or strtok_r-free parsing. */
#ifndef ML_BANNED_H
#define ML_BANNED_H

#define BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) BANNED(strncat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef gets
#define gets(x) BANNED(gets)

#endif
