/** Kubernetes name rules as zod types, shared by every part of the definition's schema. */
import { z } from "zod";

export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A DNS-1123 label: what Kubernetes accepts as a namespace, port or object name of one segment. */
export const dnsLabel = (what: string) =>
  z.string().max(63, `${what} must be at most 63 characters`).regex(DNS1123_LABEL, `${what} must be a DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter or digit`);
