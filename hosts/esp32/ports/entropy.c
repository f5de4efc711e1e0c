/*
 * The native half of entropy.ts: fills a buffer or view with random bytes from the ESP32's hardware
 * RNG (esp_fill_random: a true random source while Wi-Fi or Bluetooth runs, or after
 * bootloader_random_enable(); see ESP-IDF "Random Number Generation"), or from the operating system
 * in Moddable's desktop simulator.
 */
#include "xsmc.h"
#include "xsHost.h"

#if ESP32
	#include "esp_random.h"
#elif defined(__APPLE__)
	#include <stdlib.h>
#else
	#include <errno.h>
	#include <sys/random.h>
#endif

void xs_xsmeter_fill_random(xsMachine *the)
{
	void *data;
	xsUnsignedValue size;

	xsmcGetBufferWritable(xsArg(0), &data, &size);
#if ESP32
	esp_fill_random(data, size);
#elif defined(__APPLE__)
	arc4random_buf(data, size);
#else
	uint8_t *p = data;
	while (size > 0) {
		ssize_t n = getrandom(p, size, 0);
		if (n < 0) {
			if (EINTR == errno)
				continue;
			xsUnknownError("getrandom failed");
		}
		p += n;
		size -= n;
	}
#endif
}
