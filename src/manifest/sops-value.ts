// SOPS's encrypted value, apart from sops.ts's reader of the envelope: the agent, which decrypts
// values on the node, needs only this and loads no schema or yaml.

/** SOPS's value format (aes/cipher.go): base64 data, iv and tag, and the plaintext's type. */
export const ENC_VALUE = /^ENC\[AES256_GCM,data:([A-Za-z0-9+/=]*),iv:([A-Za-z0-9+/=]+),tag:([A-Za-z0-9+/=]+),type:(str|int|float|bytes|bool|time|comment)\]$/;
