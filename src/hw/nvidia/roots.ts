import {lazyCertificate} from '../../util/x509.js'

/**
 * The NVIDIA Device Identity CA: root of every Hopper/Blackwell GPU attestation certificate chain.
 * Pinned by SHA-256 fingerprint of its DER; the PEM travels with the code so a 4-certificate chain
 * (as some drivers return it) can still be completed. Source and licence: fixtures/nvtrust/PROVENANCE.md
 * (the same bytes as fixtures/nvtrust/nvidia-device-identity-ca.pem, a test keeps them equal).
 */
export const NVIDIA_DEVICE_IDENTITY_CA_SHA256 = '10:2B:F6:59:D5:41:96:14:C9:D8:E6:AE:CE:BC:80:45:4E:B2:6B:1D:F6:A7:69:AC:72:0B:9A:69:0B:16:7B:48'

export const NVIDIA_DEVICE_IDENTITY_CA_PEM = `-----BEGIN CERTIFICATE-----
MIICCzCCAZCgAwIBAgIQLTZwscoQBBHB/sDoKgZbVDAKBggqhkjOPQQDAzA1MSIw
IAYDVQQDDBlOVklESUEgRGV2aWNlIElkZW50aXR5IENBMQ8wDQYDVQQKDAZOVklE
SUEwIBcNMjExMTA1MDAwMDAwWhgPOTk5OTEyMzEyMzU5NTlaMDUxIjAgBgNVBAMM
GU5WSURJQSBEZXZpY2UgSWRlbnRpdHkgQ0ExDzANBgNVBAoMBk5WSURJQTB2MBAG
ByqGSM49AgEGBSuBBAAiA2IABA5MFKM7+KViZljbQSlgfky/RRnEQScW9NDZF8SX
gAW96r6u/Ve8ZggtcYpPi2BS4VFu6KfEIrhN6FcHG7WP05W+oM+hxj7nyA1r1jkB
2Ry70YfThX3Ba1zOryOP+MJ9vaNjMGEwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8B
Af8EBAMCAQYwHQYDVR0OBBYEFFeF/4PyY8xlfWi3Olv0jUrL+0lfMB8GA1UdIwQY
MBaAFFeF/4PyY8xlfWi3Olv0jUrL+0lfMAoGCCqGSM49BAMDA2kAMGYCMQCPeFM3
TASsKQVaT+8S0sO9u97PVGCpE9d/I42IT7k3UUOLSR/qvJynVOD1vQKVXf0CMQC+
EY55WYoDBvs2wPAH1Gw4LbcwUN8QCff8bFmV4ZxjCRr4WXTLFHBKjbfneGSBWwA=
-----END CERTIFICATE-----`

/** NVIDIA_DEVICE_IDENTITY_CA_PEM parsed once, on first use (completing a chain the driver returned without its root). */
export const nvidiaDeviceIdentityCa = lazyCertificate(NVIDIA_DEVICE_IDENTITY_CA_PEM)
