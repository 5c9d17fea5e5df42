/**
 * Register offsets (bytes into BAR0) and bit names of the 82540EM, from Intel's
 * 8254x Software Developer's Manual (section 13). Only what the model uses or
 * what a driver is known to touch is named here.
 */

export const REG = {
  CTRL: 0x0000,
  STATUS: 0x0008,
  EECD: 0x0010,
  EERD: 0x0014,
  CTRL_EXT: 0x0018,
  FLA: 0x001c,
  MDIC: 0x0020,
  FCAL: 0x0028,
  FCAH: 0x002c,
  FCT: 0x0030,
  VET: 0x0038,
  ICR: 0x00c0,
  ITR: 0x00c4,
  ICS: 0x00c8,
  IMS: 0x00d0,
  IMC: 0x00d8,
  RCTL: 0x0100,
  FCTTV: 0x0170,
  TXCW: 0x0178,
  RXCW: 0x0180,
  TCTL: 0x0400,
  TIPG: 0x0410,
  AIT: 0x0458,
  LEDCTL: 0x0e00,
  PBA: 0x1000,
  FCRTL: 0x2160,
  FCRTH: 0x2168,
  RDBAL: 0x2800,
  RDBAH: 0x2804,
  RDLEN: 0x2808,
  RDH: 0x2810,
  RDT: 0x2818,
  RDTR: 0x2820,
  RXDCTL: 0x2828,
  RADV: 0x282c,
  RSRPD: 0x2c00,
  TXDMAC: 0x3000,
  TDBAL: 0x3800,
  TDBAH: 0x3804,
  TDLEN: 0x3808,
  TDH: 0x3810,
  TDT: 0x3818,
  TIDV: 0x3820,
  TXDCTL: 0x3828,
  TADV: 0x382c,
  TSPMT: 0x3830,
  RXCSUM: 0x5000,
  MTA: 0x5200, // 128 dwords: the 4096-bit multicast table
  RA: 0x5400, // 16 pairs of RAL/RAH
  VFTA: 0x5600, // 128 dwords: the 4096-bit VLAN filter table
  WUC: 0x5800,
  WUFC: 0x5808,
  WUS: 0x5810,
  MANC: 0x5820,
  IPAV: 0x5838,
  IP4AT: 0x5840,
  IP6AT: 0x5880,
  WUPL: 0x5900,
  WUPM: 0x5a00,
  FFLT: 0x5f00,
  FFMT: 0x9000,
  FFVT: 0x9800,
} as const;

export const RA_ENTRIES = 16;

/** Statistics registers (read-only, clear on read). */
export const STAT = {
  CRCERRS: 0x4000,
  ALGNERRC: 0x4004,
  SYMERRS: 0x4008,
  RXERRC: 0x400c,
  MPC: 0x4010,
  SCC: 0x4014,
  ECOL: 0x4018,
  MCC: 0x401c,
  LATECOL: 0x4020,
  COLC: 0x4028,
  DC: 0x4030,
  TNCRS: 0x4034,
  SEC: 0x4038,
  CEXTERR: 0x403c,
  RLEC: 0x4040,
  XONRXC: 0x4048,
  XONTXC: 0x404c,
  XOFFRXC: 0x4050,
  XOFFTXC: 0x4054,
  FCRUC: 0x4058,
  PRC64: 0x405c,
  PRC127: 0x4060,
  PRC255: 0x4064,
  PRC511: 0x4068,
  PRC1023: 0x406c,
  PRC1522: 0x4070,
  GPRC: 0x4074,
  BPRC: 0x4078,
  MPRC: 0x407c,
  GPTC: 0x4080,
  GORCL: 0x4088,
  GORCH: 0x408c,
  GOTCL: 0x4090,
  GOTCH: 0x4094,
  RNBC: 0x40a0,
  RUC: 0x40a4,
  RFC: 0x40a8,
  ROC: 0x40ac,
  RJC: 0x40b0,
  MGTPRC: 0x40b4,
  MGTPDC: 0x40b8,
  MGTPTC: 0x40bc,
  TORL: 0x40c0,
  TORH: 0x40c4,
  TOTL: 0x40c8,
  TOTH: 0x40cc,
  TPR: 0x40d0,
  TPT: 0x40d4,
  PTC64: 0x40d8,
  PTC127: 0x40dc,
  PTC255: 0x40e0,
  PTC511: 0x40e4,
  PTC1023: 0x40e8,
  PTC1522: 0x40ec,
  MPTC: 0x40f0,
  BPTC: 0x40f4,
  TSCTC: 0x40f8,
  TSCTFC: 0x40fc,
} as const;

export const STATS_FIRST = 0x4000;
export const STATS_LAST = 0x40fc;

export const CTRL = {
  FD: 1 << 0,
  LRST: 1 << 3,
  ASDE: 1 << 5,
  SLU: 1 << 6,
  ILOS: 1 << 7,
  SPD_1000: 2 << 8,
  FRCSPD: 1 << 11,
  FRCDPX: 1 << 12,
  SWDPIN0: 1 << 18,
  SWDPIN2: 1 << 20,
  RST: 1 << 26,
  RFCE: 1 << 27,
  TFCE: 1 << 28,
  VME: 1 << 30,
  PHY_RST: 1 << 31,
} as const;

export const STATUS = {
  FD: 1 << 0,
  LU: 1 << 1,
  TXOFF: 1 << 4,
  SPEED_1000: 2 << 6,
  /** Auto-detected speed: 1000 Mb/s. */
  ASDV_1000: 2 << 8,
  MTXCKOK: 1 << 10,
  GIO_MASTER_ENABLE: 1 << 19,
} as const;

export const EECD = {
  SK: 1 << 0,
  CS: 1 << 1,
  DI: 1 << 2,
  DO: 1 << 3,
  FWE_MASK: 3 << 4,
  REQ: 1 << 6,
  GNT: 1 << 7,
  PRES: 1 << 8,
  /** Clear: a 64-word (6 address bits) Microwire part, which is what the 82540EM carries. */
  SIZE: 1 << 9,
} as const;

export const EERD = {
  START: 1 << 0,
  DONE: 1 << 4,
  ADDR_SHIFT: 8,
  DATA_SHIFT: 16,
} as const;

export const MDIC = {
  DATA_MASK: 0xffff,
  REG_SHIFT: 16,
  PHY_SHIFT: 21,
  OP_WRITE: 1 << 26,
  OP_READ: 2 << 26,
  READY: 1 << 28,
  INT_EN: 1 << 29,
  ERROR: 1 << 30,
} as const;

/** Interrupt cause bits, shared by ICR, ICS, IMS and IMC. */
export const ICR = {
  TXDW: 1 << 0,
  TXQE: 1 << 1,
  LSC: 1 << 2,
  RXSEQ: 1 << 3,
  RXDMT0: 1 << 4,
  RXO: 1 << 6,
  RXT0: 1 << 7,
  MDAC: 1 << 9,
  RXCFG: 1 << 10,
  TXD_LOW: 1 << 15,
  SRPD: 1 << 16,
} as const;

/** Bits of ICR that exist on the 82540EM; the rest read as zero. */
export const ICR_VALID_MASK = 0x0001_fedf;

export const RCTL = {
  EN: 1 << 1,
  SBP: 1 << 2,
  UPE: 1 << 3,
  MPE: 1 << 4,
  LPE: 1 << 5,
  LBM_MASK: 3 << 6,
  RDMTS_SHIFT: 8,
  RDMTS_MASK: 3 << 8,
  MO_SHIFT: 12,
  MO_MASK: 3 << 12,
  BAM: 1 << 15,
  BSIZE_SHIFT: 16,
  BSIZE_MASK: 3 << 16,
  VFE: 1 << 18,
  CFIEN: 1 << 19,
  CFI: 1 << 20,
  DPF: 1 << 22,
  PMCF: 1 << 23,
  BSEX: 1 << 25,
  SECRC: 1 << 26,
} as const;

export const TCTL = {
  EN: 1 << 1,
  PSP: 1 << 3,
} as const;

export const RAH_AV = 1 << 31;
export const RDTR_FPD = 1 << 31;

export const RXCSUM = {
  PCSS_MASK: 0xff,
  IPOFL: 1 << 8,
  TUOFL: 1 << 9,
} as const;

/** TX descriptor command byte (byte 11 of legacy and data descriptors; TUCMD of context ones). */
export const TXD_CMD = {
  EOP: 1 << 0,
  IFCS: 1 << 1,
  /** Legacy: insert checksum. Context TUCMD: this bit is TCP (else UDP). */
  IC: 1 << 2,
  RS: 1 << 3,
  RPS: 1 << 4,
  DEXT: 1 << 5,
  VLE: 1 << 6,
  IDE: 1 << 7,
} as const;

/** Context TUCMD / data DCMD bits that differ from the legacy meaning. */
export const TUCMD = {
  TCP: 1 << 0,
  IP: 1 << 1,
  TSE: 1 << 2,
} as const;

export const TXD_DTYP = { CONTEXT: 0, DATA: 1 } as const;
export const TXD_STA_DD = 1 << 0;
export const TXD_POPTS = { IXSM: 1 << 0, TXSM: 1 << 1 } as const;

export const RXD_STA = {
  DD: 1 << 0,
  EOP: 1 << 1,
  IXSM: 1 << 2,
  VP: 1 << 3,
  TCPCS: 1 << 5,
  IPCS: 1 << 6,
  PIF: 1 << 7,
} as const;

export const RXD_ERR = {
  CE: 1 << 0,
  SE: 1 << 1,
  SEQ: 1 << 2,
  CXE: 1 << 4,
  TCPE: 1 << 5,
  IPE: 1 << 6,
  RXE: 1 << 7,
} as const;

export const DESC_SIZE = 16;
/** Ring lengths are in units of 128 bytes (8 descriptors); the low 7 bits are ignored. */
export const RING_LEN_MASK = 0x000f_ff80;
