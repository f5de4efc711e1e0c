/*
 * An independent SML reader for the tests: libsml (Debian libsml-dev) reads a byte stream on stdin
 * the way vzlogger and sml_server do — sml_transport_read() finds each file, sml_file_parse() parses
 * it — and prints what libsml found, one line each:
 *
 *   file LENGTH crc ok|bad          the transport CRC, checked with libsml's sml_crc16_calculate
 *   msg TAG                         each message libsml parsed (hex tag)
 *   val OBIS unit U scaler S status T value V
 *                                   each SML_GetList.Res entry: OBIS as A-B:C.D.E*F, U/S/T "-" when
 *                                   absent; V an exact integer, "true"/"false", or "hex:…"
 *   end FILES                       after the stream
 *
 * Built by test/helpers/libsml.ts with `cc … -lsml` into a temporary directory.
 *
 * Input: the program reads all of stdin first and interposes read() and select(), which libsml's
 * transport calls for every 1 to 4 bytes, so libsml takes the stream from memory instead of a
 * system call per byte (a simulated day is 20 MB). At the end of the input read() jumps back to
 * main, which prints the "end" line (libsml 0.1.1, Debian's, would retry a read() of 0 forever). A
 * file cut off by the end of the stream is never delivered, as with sml_server.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <sml/sml_crc16.h>
#include <sml/sml_file.h>
#include <sml/sml_transport.h>
#include <sml/sml_value.h>

static jmp_buf at_eof;
static unsigned char *input;
static size_t input_len, input_pos;

ssize_t read(int fd, void *buf, size_t count) {
	if (fd != 0) return syscall(SYS_read, fd, buf, count);
	if (input_pos >= input_len) longjmp(at_eof, 1);
	size_t n = input_len - input_pos < count ? input_len - input_pos : count;
	memcpy(buf, input + input_pos, n);
	input_pos += n;
	return (ssize_t)n;
}

int select(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds, struct timeval *timeout) {
	(void)nfds, (void)readfds, (void)writefds, (void)exceptfds, (void)timeout;
	return 1; /* stdin is in memory: always readable */
}

static void slurp_stdin(void) {
	size_t cap = 1 << 20;
	input = malloc(cap);
	for (;;) {
		if (input_len == cap) input = realloc(input, cap *= 2);
		ssize_t r = syscall(SYS_read, 0, input + input_len, cap - input_len);
		if (r <= 0) break;
		input_len += (size_t)r;
	}
}

static void print_value(sml_value *v) {
	if (v == NULL) {
		printf("none");
		return;
	}
	switch (v->type) {
	case 0x51: printf("%" PRId8, *v->data.int8); return;
	case 0x52: printf("%" PRId16, *v->data.int16); return;
	case 0x54: printf("%" PRId32, *v->data.int32); return;
	case 0x58: printf("%" PRId64, *v->data.int64); return;
	case 0x61: printf("%" PRIu8, *v->data.uint8); return;
	case 0x62: printf("%" PRIu16, *v->data.uint16); return;
	case 0x64: printf("%" PRIu32, *v->data.uint32); return;
	case 0x68: printf("%" PRIu64, *v->data.uint64); return;
	}
	if (v->type == SML_TYPE_BOOLEAN) {
		printf(*v->data.boolean ? "true" : "false");
		return;
	}
	if (v->type == SML_TYPE_OCTET_STRING) {
		printf("hex:");
		for (int i = 0; v->data.bytes && i < v->data.bytes->len; i++) printf("%02x", (unsigned char)v->data.bytes->str[i]);
		return;
	}
	printf("type%02x", v->type);
}

static void print_status(sml_status *s) {
	if (s == NULL || s->data.status8 == NULL) {
		printf("-");
		return;
	}
	switch (s->type & SML_LENGTH_FIELD) {
	case 1: printf("%" PRIu8, *s->data.status8); return;
	case 2: printf("%" PRIu16, *s->data.status16); return;
	case 4: printf("%" PRIu32, *s->data.status32); return;
	case 8: printf("%" PRIu64, *s->data.status64); return;
	}
	printf("?");
}

int main(void) {
	static unsigned char buffer[8096];
	size_t n;
	static volatile int files = 0;
	slurp_stdin();
	if (setjmp(at_eof) != 0) {
		printf("end %d\n", files);
		return 0;
	}
	while ((n = sml_transport_read(0, buffer, sizeof buffer)) > 0) {
		files++;
		unsigned int wire = (buffer[n - 2] << 8) | buffer[n - 1];
		printf("file %zu crc %s\n", n, sml_crc16_calculate(buffer, (int)n - 2) == wire ? "ok" : "bad");
		sml_file *file = sml_file_parse(buffer + 8, n - 16);
		for (int i = 0; i < file->messages_len; i++) {
			sml_message *m = file->messages[i];
			printf("msg %04x\n", *m->message_body->tag);
			if (*m->message_body->tag != SML_MESSAGE_GET_LIST_RESPONSE) continue;
			sml_get_list_response *body = (sml_get_list_response *)m->message_body->data;
			for (sml_list *e = body->val_list; e != NULL; e = e->next) {
				unsigned char *o = e->obj_name->str;
				printf("val %d-%d:%d.%d.%d*%d unit ", o[0], o[1], o[2], o[3], o[4], o[5]);
				if (e->unit) printf("%d", *e->unit); else printf("-");
				printf(" scaler ");
				if (e->scaler) printf("%d", *e->scaler); else printf("-");
				printf(" status ");
				print_status(e->status);
				printf(" value ");
				print_value(e->value);
				printf("\n");
			}
		}
		sml_file_free(file);
		fflush(stdout);
	}
	printf("end %d\n", files);
	return 0;
}
