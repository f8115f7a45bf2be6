// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {UncToken} from "./UncToken.sol";

/// The on-chain P-384 verifier (contracts/src/P384Verifier.sol), deployed apart and called by staticcall.
interface IP384Verifier {
    function verify(bytes calldata message, bytes calldata signature, bytes calldata publicKey) external view returns (bool);
}

/// @title POCI v2: device registry, verified heartbeats, rewards and the challenge game in one contract.
/// @notice The spec is docs/protocol.md. Registry, heartbeat and rewards share one address on purpose:
/// a heartbeat then touches one or two storage slots and no other contract (cross-contract calls would
/// cost 2,600+ gas per heartbeat). The UNC token is a separate ERC-20 this contract mints.
contract Poci {
    // ---------------------------------------------------------------- constants
    bytes32 public constant HEARTBEAT_DOMAIN = keccak256("UNET-POCI-HEARTBEAT-v2");
    bytes32 public constant REGISTER_DOMAIN = keccak256("UNET-POCI-REGISTER-v2");
    bytes32 public constant ACTIVATION_DOMAIN = keccak256("UNET-POCI-ACTIVATION-v2");

    uint8 public constant KIND_HOST_TPM = 1; // host TPM AK, ECDSA P-256 quotes
    uint8 public constant KIND_HOST_EMULATOR = 2; // software host key, same quote format (devnet only)
    uint8 public constant KIND_P256 = 3; // device key ECDSA P-256 / SHA-256
    uint8 public constant KIND_SECP256K1 = 4; // device key ECDSA secp256k1 / SHA-256 (ecrecover)
    uint8 public constant KIND_RSA2048 = 5; // device key RSA-2048 PKCS#1 v1.5 / SHA-256 (Sophgo)
    uint8 public constant KIND_P384 = 6; // NVIDIA device identity key: committed by digest, challengeable
    uint8 public constant KIND_EMULATOR = 7; // emulated accelerator, P-256 key (devnet only)

    /// Device status (deviceInfo): a device record exists only while its key is bound.
    uint8 public constant STATUS_NONE = 0;
    uint8 public constant STATUS_APPROVED = 2;

    /// Registration status (registrationInfo).
    uint8 public constant REG_NONE = 0;
    uint8 public constant REG_PENDING = 1;
    uint8 public constant REG_APPROVED = 2;
    uint8 public constant REG_REJECTED = 3;
    uint8 public constant REG_ENDED = 4; // approved, then released or revoked

    /// Challenge status (challengeInfo).
    uint8 public constant CH_NONE = 0;
    uint8 public constant CH_OPEN = 1;
    uint8 public constant CH_ANSWERED = 2;
    uint8 public constant CH_SLASHED = 3;

    uint256 public constant MAX_DEVICES_PER_HOST = 64;
    /// Heartbeat records kept per host for the challenge game (a ring indexed by epoch % window).
    uint64 public constant CHALLENGE_WINDOW = 16;
    /// Epochs an operator has to answer a challenge.
    uint64 public constant ANSWER_EPOCHS = 4;
    /// Share of a slashed host's forfeited rewards minted to the challenger; the rest is never minted.
    uint256 public constant SLASH_BOUNTY_BPS = 5_000;

    // heartbeatChallenge as laid out in memory by heartbeat(): domain ‖ chainid ‖ poci ‖ operator ‖ id ‖ epoch ‖ B ‖ blockhash(B)
    uint256 private constant HB_CHAINID = 32;
    uint256 private constant HB_POCI = 64;
    uint256 private constant HB_OPERATOR = 84;
    uint256 private constant HB_ID = 104; // the host id, swapped for each device id
    uint256 private constant HB_EPOCH = 136;
    uint256 private constant HB_BLOCK = 144;
    uint256 private constant HB_BLOCKHASH = 152;
    uint256 private constant HB_LENGTH = 184;
    uint256 private constant HB_RESERVED = 192; // memory kept for it (a word multiple)
    uint256 private constant P256_PROOF_LENGTH = 128; // x ‖ y ‖ r ‖ s
    uint256 private constant P256_INPUT_LENGTH = 160; // hash ‖ r ‖ s ‖ x ‖ y
    uint256 private constant SHA256_PRECOMPILE = 0x02;
    uint256 private constant MODEXP_PRECOMPILE = 0x05;
    uint256 private constant P256_PRECOMPILE = 0x100;

    uint32 private constant TPM_GENERATED_VALUE = 0xff544347;
    uint16 private constant TPM_ST_ATTEST_QUOTE = 0x8018;
    /// SPDM 1.1 GET_MEASUREMENTS request: version ‖ code ‖ param1 ‖ param2 ‖ nonce (32) ‖ slot.
    uint256 private constant SPDM_REQUEST_LENGTH = 37;
    uint256 private constant SPDM_NONCE_OFFSET = 4;
    uint8 private constant SPDM_VERSION_11 = 0x11;
    uint8 private constant SPDM_GET_MEASUREMENTS = 0xe0;
    uint256 private constant P384_SIGNATURE_LENGTH = 96;
    uint256 private constant P384_KEY_LENGTH = 96;

    // ---------------------------------------------------------------- immutables
    UncToken public immutable token;
    uint64 public immutable genesisBlock;
    uint64 public immutable epochBlocks;
    uint96 public immutable rewardPerPowerEpoch;
    bool public immutable allowEmulator;
    IP384Verifier public immutable p384Verifier;
    uint64 public immutable verifierDelay;
    uint128 public immutable registrationDeposit;
    uint128 public immutable challengeDeposit;

    // ---------------------------------------------------------------- storage
    address public admin;
    address public pendingAdmin;
    address public verifier;
    address public pendingVerifier;
    uint64 public verifierReadyAt;

    /// A bound (approved) device. Slot 0: operator | kind | status | power | index in the host's list.
    struct Device {
        address operator;
        uint8 kind;
        uint8 status;
        uint64 power;
        uint16 index;
        bytes32 host;
        address payout;
        bytes32 regId;
    }

    /// One registration attempt; many may be pending for one key, the first approved binds it.
    struct Registration {
        bytes32 deviceId;
        address operator;
        uint8 kind;
        uint8 status;
        bool activated;
        uint64 nonce;
        bytes32 hostId;
        bytes32 hostRegId; // devices: the host registration they attach to
        address payout;
        uint96 deposit;
        bytes32 commitment; // host-tpm: credential-activation commitment posted by the verifier
    }

    /// One slot, keyed by keccak256(operator ‖ hostId ‖ setHash): a heartbeat reads and writes only this
    /// slot (plus its challenge record when the host has committed devices), and finding it under the
    /// sender's key is the operator and device-set check.
    struct Host {
        uint32 lastEpoch;
        uint48 lastBlock;
        uint64 power; // aggregate approved power: host + attached approved devices
        uint8 count; // attached approved devices
        bool active; // the host itself is approved
        uint96 accrued; // UNC (wei) not yet claimed
    }

    struct Challenge {
        bytes32 hostId;
        bytes32 deviceId;
        uint64 epoch;
        uint64 deadline; // last block an answer is accepted in
        uint8 status;
        address challenger;
        uint128 deposit;
        bytes32 evidenceDigest;
        bytes32 nonce; // the device challenge of that heartbeat
    }

    mapping(bytes32 => Device) internal devices;
    mapping(bytes32 => Registration) internal registrations;
    mapping(bytes32 => uint64) public registrationNonce;
    mapping(bytes32 => Host) internal hosts;
    /// lastEpoch << 48 | lastBlock of a released host, restored when it is approved again.
    mapping(bytes32 => uint256) internal creditMemory;
    mapping(bytes32 => bytes32) public ekHost;
    mapping(bytes32 => bytes32) internal ekOf;
    /// NVIDIA chips (KIND_P384): chip id (keccak256 of the device identity certificate's key, stable across
    /// firmware updates, unlike the DICE leaf key that is the deviceId) → the active device bound with it.
    mapping(bytes32 => bytes32) public chipDevice;
    mapping(bytes32 => bytes32) internal chipOf;
    /// keccak256(concat(deviceId ‖ uint8 kind)) over the host's attached approved devices, in list order.
    mapping(bytes32 => bytes32) internal setHashOf;
    mapping(bytes32 => bytes32[]) internal hostDeviceList;
    mapping(bytes32 => uint256) public claimed;
    /// hostId → epoch % CHALLENGE_WINDOW → uint64 epoch << 192 | top 192 bits of the heartbeat record.
    mapping(bytes32 => mapping(uint256 => bytes32)) internal beats;
    mapping(bytes32 => Challenge) internal challenges;

    // ---------------------------------------------------------------- events
    event Registered(
        bytes32 indexed regId,
        bytes32 indexed deviceId,
        address indexed operator,
        bytes32 hostId,
        uint8 kind,
        address payout,
        uint64 nonce,
        bytes publicKey,
        bytes proof,
        bytes evidence
    );
    event CredentialChallenge(bytes32 indexed regId, bytes credentialBlob, bytes encryptedSecret, bytes32 commitment);
    event Activated(bytes32 indexed regId);
    event Approved(bytes32 indexed regId, bytes32 indexed deviceId, bytes32 indexed hostId, uint64 power, bytes32 identityId, address verifier);
    event Rejected(bytes32 indexed regId, bytes32 indexed deviceId, bytes32 indexed hostId, string reason, address verifier);
    event Revoked(bytes32 indexed deviceId, bytes32 indexed hostId, string reason);
    event Released(bytes32 indexed deviceId, bytes32 indexed hostId, address operator);
    event PayoutChanged(bytes32 indexed hostId, address payout);
    event Heartbeat(bytes32 indexed hostId, uint64 epoch, bytes32 devicesDigest);
    event Claimed(bytes32 indexed hostId, address indexed payout, uint256 amount);
    event Challenged(bytes32 indexed challengeId, bytes32 indexed hostId, bytes32 indexed deviceId, uint64 epoch, uint64 deadline, address challenger);
    event ChallengeAnswered(bytes32 indexed challengeId, bytes32 indexed hostId, bytes32 indexed deviceId);
    event Slashed(bytes32 indexed challengeId, bytes32 indexed hostId, bytes32 indexed deviceId, uint256 forfeited, uint256 bounty, string reason);
    event AdminProposed(address admin);
    event AdminChanged(address admin);
    event VerifierProposed(address verifier, uint64 readyAt);
    event VerifierChanged(address verifier);

    // ---------------------------------------------------------------- errors
    error AlreadyCredited(bytes32 hostId, uint64 epoch);
    error WrongEpoch(uint64 given, uint64 current);
    error StaleBlock(uint64 blockNumber, uint64 minBlock);
    error FutureBlock(uint64 blockNumber, uint64 currentBlock);
    error WrongBlockhash(uint64 blockNumber, bytes32 expected, bytes32 given);
    error WrongExtraData(bytes32 expected, bytes32 given);
    error MalformedAttest(uint256 offset);
    error BadSignature();
    error BadDeviceSignature(bytes32 deviceId);
    error MalformedProof(bytes32 deviceId);
    error DeviceSetMismatch(bytes32 hostId);
    error NotOperator(address operator, address sender);
    error Unregistered(bytes32 deviceId);
    error NotApproved(bytes32 deviceId);
    error NotPending(bytes32 regId);
    error AlreadyBound(bytes32 deviceId, address operator);
    error NotVerifier(address sender);
    error NotAdmin(address sender);
    error NotPayout(address payout, address sender);
    error EmulatorNotAllowed();
    error UnsupportedKind(uint8 kind);
    error BadPublicKey();
    error ZeroPayout();
    error ZeroAddress();
    error PayoutMismatch(address hostPayout, address payout);
    error NotAHost(bytes32 hostId);
    error HostHasDevices(bytes32 hostId, uint8 count);
    error HostChanged(bytes32 hostId);
    error TooManyDevices(bytes32 hostId);
    error NothingToClaim(bytes32 hostId);
    error ClaimFirst(bytes32 hostId);
    error WrongDeposit(uint256 given, uint256 required);
    error PowerAboveCap(uint64 power, uint64 cap);
    error NotActivated(bytes32 regId);
    error BadActivation(bytes32 regId);
    error NotCredentialKind(bytes32 regId);
    error EkInUse(bytes32 ekId, bytes32 hostId);
    error MissingEk(bytes32 regId);
    error ChipInUse(bytes32 chipId, bytes32 deviceId);
    error MissingChipId(bytes32 regId);
    error NotReady(uint64 readyAt);
    error NoHeartbeat(bytes32 hostId, uint64 epoch);
    error RecordMismatch(bytes32 hostId, uint64 epoch);
    error NotCommittedKind(bytes32 deviceId);
    error ChallengeWindowClosed(uint64 epoch);
    error AlreadyChallenged(bytes32 challengeId);
    error NotOpen(bytes32 challengeId);
    error AnswerTooLate(bytes32 challengeId, uint64 deadline);
    error AnswerWindowOpen(bytes32 challengeId, uint64 deadline);
    error NotCommitted(bytes32 challengeId);

    constructor(
        address verifier_,
        uint64 epochBlocks_,
        uint96 rewardPerPowerEpoch_,
        bool allowEmulator_,
        address p384Verifier_,
        uint64 verifierDelay_,
        uint128 registrationDeposit_,
        uint128 challengeDeposit_
    ) {
        // every block of an epoch must still have a readable blockhash when the epoch's heartbeat lands
        require(epochBlocks_ > 0 && epochBlocks_ <= 256, "bad parameters");
        if (verifier_ == address(0) || p384Verifier_ == address(0)) revert ZeroAddress();
        token = new UncToken(address(this));
        admin = msg.sender;
        verifier = verifier_;
        genesisBlock = uint64(block.number);
        epochBlocks = epochBlocks_;
        rewardPerPowerEpoch = rewardPerPowerEpoch_;
        allowEmulator = allowEmulator_;
        p384Verifier = IP384Verifier(p384Verifier_);
        verifierDelay = verifierDelay_;
        registrationDeposit = registrationDeposit_;
        challengeDeposit = challengeDeposit_;
        emit AdminChanged(msg.sender);
        emit VerifierChanged(verifier_);
    }

    // ================================================================= views

    /// Epochs are numbered from 1 and counted in blocks: epoch e is [genesis + (e-1)·len, genesis + e·len).
    function currentEpoch() public view returns (uint64) {
        return (uint64(block.number) - genesisBlock) / epochBlocks + 1;
    }

    function epochStartBlock(uint64 epoch) public view returns (uint64) {
        return genesisBlock + (epoch - 1) * epochBlocks;
    }

    function heartbeatChallenge(address operator, bytes32 id, uint64 epoch, uint64 blockNumber, bytes32 blockHash)
        public
        view
        returns (bytes32)
    {
        return keccak256(abi.encodePacked(HEARTBEAT_DOMAIN, block.chainid, address(this), operator, id, epoch, blockNumber, blockHash));
    }

    /// What a registration's proof and evidence sign; `nonce` is registrationNonce(deviceId) when it is sent,
    /// so an old registration cannot be replayed after a release. Hosts name themselves as hostId.
    function registerChallenge(address operator, address payout, bytes32 deviceId, bytes32 hostId, uint64 nonce)
        public
        view
        returns (bytes32)
    {
        return keccak256(abi.encodePacked(REGISTER_DOMAIN, block.chainid, address(this), operator, payout, deviceId, hostId, nonce));
    }

    function registrationId(bytes32 deviceId, uint64 nonce) public pure returns (bytes32) {
        return keccak256(abi.encodePacked(deviceId, nonce));
    }

    function activationCommitment(bytes32 regId, bytes32 secret) public pure returns (bytes32) {
        return keccak256(abi.encodePacked(ACTIVATION_DOMAIN, regId, secret));
    }

    /// Highest power the verifier may approve for a kind (a bound on a compromised or buggy verifier).
    function maxPower(uint8 kind) public pure returns (uint64) {
        if (kind == KIND_HOST_TPM) return 100;
        if (kind == KIND_HOST_EMULATOR) return 10;
        if (kind == KIND_P256 || kind == KIND_SECP256K1 || kind == KIND_RSA2048) return 1_000;
        if (kind == KIND_P384) return 10_000;
        if (kind == KIND_EMULATOR) return 100;
        return 0;
    }

    /// devicesDigest over interleaved (deviceId, evidenceDigest) words.
    function devicesDigest(bytes32[] calldata commits) public pure returns (bytes32) {
        return keccak256(abi.encodePacked(commits));
    }

    function quoteQualifyingData(bytes32 challenge_, bytes32[] calldata commits) external pure returns (bytes32) {
        return keccak256(abi.encodePacked(challenge_, keccak256(abi.encodePacked(commits))));
    }

    function deviceIdOf(bytes calldata publicKey) external pure returns (bytes32) {
        return keccak256(publicKey);
    }

    function deviceInfo(bytes32 deviceId)
        external
        view
        returns (address operator, uint8 kind, uint8 status, uint64 power, bytes32 hostId, address payout, bytes32 regId)
    {
        Device storage d = devices[deviceId];
        return (d.operator, d.kind, d.status, d.power, d.host, d.payout, d.regId);
    }

    function registrationInfo(bytes32 regId)
        external
        view
        returns (
            bytes32 deviceId,
            address operator,
            bytes32 hostId,
            bytes32 hostRegId,
            uint8 kind,
            uint8 status,
            address payout,
            bool activated,
            bytes32 commitment
        )
    {
        Registration storage g = registrations[regId];
        return (g.deviceId, g.operator, g.hostId, g.hostRegId, g.kind, g.status, g.payout, g.activated, g.commitment);
    }

    function hostInfo(bytes32 hostId)
        external
        view
        returns (
            address operator,
            bool active,
            uint64 power,
            uint8 count,
            bytes32 setHash,
            uint64 lastEpoch,
            uint64 lastBlock,
            uint256 accrued,
            uint256 claimedTotal,
            bytes32 ekId
        )
    {
        operator = devices[hostId].operator;
        Host storage h = hosts[_hostKey(operator, hostId)];
        return (operator, h.active, h.power, h.count, setHashOf[hostId], h.lastEpoch, h.lastBlock, h.accrued, claimed[hostId], ekOf[hostId]);
    }

    function challengeId(bytes32 hostId, uint64 epoch, bytes32 deviceId) public pure returns (bytes32) {
        return keccak256(abi.encodePacked(hostId, epoch, deviceId));
    }

    function challengeInfo(bytes32 id)
        external
        view
        returns (
            bytes32 hostId,
            bytes32 deviceId,
            uint64 epoch,
            address challenger,
            uint64 deadline,
            uint8 status,
            bytes32 evidenceDigest,
            bytes32 nonce
        )
    {
        Challenge storage c = challenges[id];
        return (c.hostId, c.deviceId, c.epoch, c.challenger, c.deadline, c.status, c.evidenceDigest, c.nonce);
    }

    /// Where a host's state lives: keccak256(operator ‖ hostId ‖ setHash). A heartbeat recomputes the key
    /// from the sender and the device list it sends, so finding an active host there proves the operator
    /// and the device set without reading them.
    function _hostKey(address operator, bytes32 hostId) private view returns (bytes32) {
        return _key(operator, hostId, setHashOf[hostId]);
    }

    function _key(address operator, bytes32 hostId, bytes32 setHash) private pure returns (bytes32 key) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, operator)
            mstore(add(m, 32), hostId)
            mstore(add(m, 64), setHash)
            key := keccak256(m, 96)
        }
    }

    /// Moves a host's state to the key of its new device set.
    function _setDevices(address operator, bytes32 hostId, bytes32[] storage list) private returns (Host storage moved) {
        bytes32 oldKey = _hostKey(operator, hostId);
        Host memory h = hosts[oldKey];
        delete hosts[oldKey];
        setHashOf[hostId] = _setHash(list);
        moved = hosts[_hostKey(operator, hostId)];
        moved.lastEpoch = h.lastEpoch;
        moved.lastBlock = h.lastBlock;
        moved.power = h.power;
        moved.count = h.count;
        moved.active = h.active;
        moved.accrued = h.accrued;
    }

    /// The attached approved devices in the order a heartbeat must list them.
    function hostDevices(bytes32 hostId) external view returns (bytes32[] memory ids, uint8[] memory kinds) {
        ids = hostDeviceList[hostId];
        kinds = new uint8[](ids.length);
        for (uint256 i; i < ids.length; ++i) kinds[i] = devices[ids[i]].kind;
    }

    // ================================================================= admin

    modifier onlyVerifier() {
        if (msg.sender != verifier) revert NotVerifier(msg.sender);
        _;
    }

    modifier onlyAdmin() {
        if (msg.sender != admin) revert NotAdmin(msg.sender);
        _;
    }

    /// Two-step admin transfer: a typo in the new address cannot lose the role.
    function transferAdmin(address admin_) external onlyAdmin {
        pendingAdmin = admin_;
        emit AdminProposed(admin_);
    }

    function acceptAdmin() external {
        if (msg.sender != pendingAdmin) revert NotAdmin(msg.sender);
        admin = msg.sender;
        pendingAdmin = address(0);
        emit AdminChanged(msg.sender);
    }

    /// A new verifier takes over only `verifierDelay` blocks after it is proposed, so miners can see it coming.
    function proposeVerifier(address verifier_) external onlyAdmin {
        if (verifier_ == address(0)) revert ZeroAddress();
        uint64 readyAt = uint64(block.number) + verifierDelay;
        pendingVerifier = verifier_;
        verifierReadyAt = readyAt;
        emit VerifierProposed(verifier_, readyAt);
    }

    function applyVerifier() external {
        address next = pendingVerifier;
        if (next == address(0)) revert ZeroAddress();
        if (block.number < verifierReadyAt) revert NotReady(verifierReadyAt);
        verifier = next;
        pendingVerifier = address(0);
        emit VerifierChanged(next);
    }

    /// Only the payout key moves the payout: a stolen operator key cannot redirect rewards.
    function setPayout(bytes32 hostId, address payout) external {
        Device storage h = devices[hostId];
        if (h.status != STATUS_APPROVED || h.host != hostId) revert NotAHost(hostId);
        if (msg.sender != h.payout) revert NotPayout(h.payout, msg.sender);
        if (payout == address(0)) revert ZeroPayout();
        h.payout = payout;
        bytes32[] storage list = hostDeviceList[hostId];
        for (uint256 i; i < list.length; ++i) devices[list[i]].payout = payout;
        emit PayoutChanged(hostId, payout);
    }

    // ================================================================= registry

    /// Registers a device with proof of possession of its key over registerChallenge(sender, payout,
    /// deviceId, hostId, nonce). Hosts (TPM / emulator) prove it with a quote (attest ‖ r ‖ s) whose
    /// extraData is the challenge; devices with their own key sign SHA-256(challenge); P-384 proofs are
    /// recorded for the verifier. `evidence` (canonical evidence, docs/evidence.md) is opaque here: it is
    /// emitted so the verifier, and anyone re-checking its decision, can read it from chain data.
    /// A pending registration binds nothing: only approval does, so a stranger's claim never blocks the owner.
    function register(
        uint8 kind,
        bytes calldata publicKey,
        address payout,
        bytes32 hostId,
        bytes calldata proof,
        bytes calldata evidence
    ) external payable returns (bytes32 deviceId, bytes32 regId) {
        if (msg.value != registrationDeposit) revert WrongDeposit(msg.value, registrationDeposit);
        if (payout == address(0)) revert ZeroPayout();
        deviceId = keccak256(publicKey);
        {
            Device storage d = devices[deviceId];
            if (d.status != STATUS_NONE) revert AlreadyBound(deviceId, d.operator);
        }
        bool isHost = kind == KIND_HOST_TPM || kind == KIND_HOST_EMULATOR;
        if ((kind == KIND_HOST_EMULATOR || kind == KIND_EMULATOR) && !allowEmulator) revert EmulatorNotAllowed();
        bytes32 hostRegId;
        if (isHost) {
            hostId = deviceId;
        } else {
            Device storage h = devices[hostId];
            if (h.status != STATUS_APPROVED) revert NotApproved(hostId);
            if (h.host != hostId) revert NotAHost(hostId);
            if (h.operator != msg.sender) revert NotOperator(h.operator, msg.sender);
            if (h.payout != payout) revert PayoutMismatch(h.payout, payout);
            hostRegId = h.regId;
        }
        uint64 nonce = registrationNonce[deviceId];
        registrationNonce[deviceId] = nonce + 1;
        _checkPossession(kind, publicKey, proof, deviceId, registerChallenge(msg.sender, payout, deviceId, hostId, nonce));
        regId = registrationId(deviceId, nonce);
        Registration storage g = registrations[regId];
        g.deviceId = deviceId;
        g.operator = msg.sender;
        g.kind = kind;
        g.status = REG_PENDING;
        g.nonce = nonce;
        g.hostId = hostId;
        g.hostRegId = hostRegId;
        g.payout = payout;
        g.deposit = uint96(msg.value);
        emit Registered(regId, deviceId, msg.sender, hostId, kind, payout, nonce, publicKey, proof, evidence);
    }

    function _checkPossession(uint8 kind, bytes calldata publicKey, bytes calldata proof, bytes32 deviceId, bytes32 challenge_) private view {
        if (kind == KIND_HOST_TPM || kind == KIND_HOST_EMULATOR) {
            if (publicKey.length != 64 || proof.length < 64) revert BadPublicKey();
            uint256 n = proof.length - 64;
            _checkQuote(proof[:n], challenge_);
            if (!_p256(sha256(proof[:n]), bytes32(proof[n:n + 32]), bytes32(proof[n + 32:]), bytes32(publicKey[:32]), bytes32(publicKey[32:])))
                revert BadSignature();
        } else if (kind == KIND_P256 || kind == KIND_EMULATOR) {
            if (publicKey.length != 64) revert BadPublicKey();
            if (proof.length != 64) revert MalformedProof(deviceId);
            if (!_p256(sha256(abi.encodePacked(challenge_)), bytes32(proof[:32]), bytes32(proof[32:]), bytes32(publicKey[:32]), bytes32(publicKey[32:])))
                revert BadDeviceSignature(deviceId);
        } else if (kind == KIND_SECP256K1) {
            if (publicKey.length != 64) revert BadPublicKey();
            if (proof.length != 65) revert MalformedProof(deviceId);
            if (!_k1(sha256(abi.encodePacked(challenge_)), proof, deviceId)) revert BadDeviceSignature(deviceId);
        } else if (kind == KIND_RSA2048) {
            if (publicKey.length != 256 || uint8(publicKey[0]) < 0x80 || uint8(publicKey[255]) & 1 == 0) revert BadPublicKey();
            if (proof.length != 256) revert MalformedProof(deviceId);
            (bool ok,) = _rsa(sha256(abi.encodePacked(challenge_)), proof, publicKey);
            if (!ok) revert BadDeviceSignature(deviceId);
        } else if (kind == KIND_P384) {
            if (publicKey.length != P384_KEY_LENGTH) revert BadPublicKey();
            // The SPDM report over the challenge is recorded in the event; the verifier checks it and the
            // certificate chain off chain (there is no P-384 precompile; the on-chain verifier costs millions).
        } else {
            revert UnsupportedKind(kind);
        }
    }

    /// Credential activation for a TPM host (TCG TPM 2.0 Part 1 §24): the verifier posts MakeCredential's
    /// output for (EK, AK name) and a commitment to the secret; only the TPM holding that EK and AK can
    /// recover it. The transcript stays on chain so anyone can audit the approval.
    function challengeCredential(bytes32 regId, bytes calldata credentialBlob, bytes calldata encryptedSecret, bytes32 commitment)
        external
        onlyVerifier
    {
        Registration storage g = registrations[regId];
        if (g.status != REG_PENDING) revert NotPending(regId);
        if (g.kind != KIND_HOST_TPM) revert NotCredentialKind(regId);
        g.commitment = commitment;
        g.activated = false;
        emit CredentialChallenge(regId, credentialBlob, encryptedSecret, commitment);
    }

    function activate(bytes32 regId, bytes32 secret) external {
        Registration storage g = registrations[regId];
        if (g.status != REG_PENDING) revert NotPending(regId);
        if (g.operator != msg.sender) revert NotOperator(g.operator, msg.sender);
        if (g.commitment == bytes32(0) || activationCommitment(regId, secret) != g.commitment) revert BadActivation(regId);
        g.activated = true;
        emit Activated(regId);
    }

    /// The verifier approves one registration (after checking genuineness off chain) with its power.
    /// identityId is the physical identity behind the key, bound to one active device at a time: a host
    /// TPM's EK id, an NVIDIA chip's id (other kinds: ignored). Stale registrations (the key bound
    /// meanwhile, the host gone or re-registered) revert.
    function approve(bytes32 regId, uint64 power, bytes32 identityId) external onlyVerifier {
        Registration storage g = registrations[regId];
        if (g.status != REG_PENDING) revert NotPending(regId);
        bytes32 deviceId = g.deviceId;
        Device storage d = devices[deviceId];
        if (d.status != STATUS_NONE) revert AlreadyBound(deviceId, d.operator);
        uint8 kind = g.kind;
        {
            uint64 cap = maxPower(kind);
            if (power == 0 || power > cap) revert PowerAboveCap(power, cap);
        }
        bytes32 hostId = g.hostId;
        address operator = g.operator;
        if (kind == KIND_HOST_TPM) {
            if (!g.activated) revert NotActivated(regId);
            if (identityId == bytes32(0)) revert MissingEk(regId);
            bytes32 holder = ekHost[identityId];
            if (holder != bytes32(0)) revert EkInUse(identityId, holder);
            ekHost[identityId] = hostId;
            ekOf[hostId] = identityId;
        } else if (kind == KIND_P384) {
            if (identityId == bytes32(0)) revert MissingChipId(regId);
            bytes32 holder = chipDevice[identityId];
            if (holder != bytes32(0)) revert ChipInUse(identityId, holder);
            chipDevice[identityId] = deviceId;
            chipOf[deviceId] = identityId;
        }
        g.status = REG_APPROVED;
        d.operator = operator;
        d.kind = kind;
        d.status = STATUS_APPROVED;
        d.power = power;
        d.host = hostId;
        d.payout = g.payout;
        d.regId = regId;
        Host storage h;
        if (hostId == deviceId) {
            h = hosts[_hostKey(operator, hostId)];
            uint256 memory_ = creditMemory[hostId];
            h.lastEpoch = uint32(memory_ >> 48);
            h.lastBlock = uint48(memory_);
            h.active = true;
        } else {
            Device storage hd = devices[hostId];
            if (hd.status != STATUS_APPROVED || hd.regId != g.hostRegId) revert HostChanged(hostId);
            bytes32[] storage list = hostDeviceList[hostId];
            if (list.length >= MAX_DEVICES_PER_HOST) revert TooManyDevices(hostId);
            d.index = uint16(list.length);
            list.push(deviceId);
            h = _setDevices(operator, hostId, list);
            h.count += 1;
        }
        h.power += power;
        uint256 deposit = g.deposit;
        g.deposit = 0;
        _send(operator, deposit);
        emit Approved(regId, deviceId, hostId, power, identityId, msg.sender);
    }

    /// The verifier refuses a pending registration; its deposit pays the verifier's work, so squatting
    /// a key costs the squatter.
    function reject(bytes32 regId, string calldata reason) external onlyVerifier {
        Registration storage g = registrations[regId];
        if (g.status != REG_PENDING) revert NotPending(regId);
        g.status = REG_REJECTED;
        uint256 deposit = g.deposit;
        g.deposit = 0;
        _send(msg.sender, deposit);
        emit Rejected(regId, g.deviceId, g.hostId, reason, msg.sender);
    }

    /// The verifier revokes an approved device (a failed spot check); a host's devices go first.
    function revoke(bytes32 deviceId, string calldata reason) external onlyVerifier {
        Device storage d = devices[deviceId];
        if (d.status == STATUS_NONE) revert Unregistered(deviceId);
        bytes32 hostId = d.host;
        _unbind(deviceId);
        emit Revoked(deviceId, hostId, reason);
    }

    /// The operator releases a device so it can be bound elsewhere. A host must release its devices first;
    /// releasing a host pays what it has accrued to its payout first.
    function release(bytes32 deviceId) external {
        Device storage d = devices[deviceId];
        if (d.status == STATUS_NONE) revert Unregistered(deviceId);
        if (d.operator != msg.sender) revert NotOperator(d.operator, msg.sender);
        bytes32 hostId = d.host;
        _unbind(deviceId);
        emit Released(deviceId, hostId, msg.sender);
    }

    function _unbind(bytes32 deviceId) private {
        Device storage d = devices[deviceId];
        bytes32 hostId = d.host;
        Host storage h = hosts[_hostKey(d.operator, hostId)];
        if (hostId == deviceId) {
            if (hostDeviceList[hostId].length != 0) revert HostHasDevices(hostId, h.count);
            if (h.accrued != 0) _pay(hostId, d.payout);
            // the credit memory outlives the binding: a re-registered host cannot earn an epoch twice
            creditMemory[hostId] = (uint256(h.lastEpoch) << 48) | h.lastBlock;
            bytes32 ekId = ekOf[hostId];
            if (ekId != bytes32(0)) {
                delete ekHost[ekId];
                delete ekOf[hostId];
            }
            delete hosts[_hostKey(d.operator, hostId)];
        } else {
            bytes32[] storage list = hostDeviceList[hostId];
            uint256 i = d.index;
            uint256 last = list.length - 1;
            if (i != last) {
                bytes32 moved = list[last];
                list[i] = moved;
                devices[moved].index = uint16(i);
            }
            list.pop();
            h = _setDevices(d.operator, hostId, list);
            h.count -= 1;
            h.power -= d.power;
            if (d.kind == KIND_P384) {
                delete chipDevice[chipOf[deviceId]];
                delete chipOf[deviceId];
            }
        }
        registrations[d.regId].status = REG_ENDED;
        delete devices[deviceId];
    }

    /// Pays native value; a recipient that refuses it only loses it (the deposit stays here), it never
    /// blocks a decision.
    function _send(address to, uint256 amount) private {
        if (amount == 0) return;
        (bool ok,) = to.call{value: amount}("");
        ok;
    }

    function _setHash(bytes32[] storage list) private view returns (bytes32 hash) {
        uint256 n = list.length;
        if (n == 0) return bytes32(0);
        bytes memory buf = new bytes(n * 33);
        for (uint256 i; i < n; ++i) {
            bytes32 id = list[i];
            uint8 kind = devices[id].kind;
            assembly ("memory-safe") {
                let p := add(add(buf, 32), mul(i, 33))
                mstore(p, id)
                mstore8(add(p, 32), kind)
            }
        }
        hash = keccak256(buf);
    }

    // ================================================================= heartbeat

    /// One heartbeat per host per epoch. The host quote's extraData must equal
    /// keccak256(heartbeatChallenge(sender, hostId, epoch, B, blockhash(B)) ‖ devicesDigest(commits)), where
    /// commits lists (deviceId, evidenceDigest) for exactly the host's attached approved devices, in order.
    /// Devices with their own key add a proof (see docs/protocol.md §Heartbeat) in `proofs`, in device order.
    function heartbeat(
        uint64 epoch,
        uint64 blockNumber,
        bytes32 blockHash,
        bytes32 akX,
        bytes32 akY,
        bytes calldata attest,
        bytes32 r,
        bytes32 s,
        bytes32[] calldata commits,
        bytes calldata kinds,
        bytes calldata proofs
    ) external {
        bytes32 hostId;
        assembly ("memory-safe") {
            mstore(0, akX)
            mstore(32, akY)
            hostId := keccak256(0, 64)
        }
        uint256 n = kinds.length;
        if (commits.length != 2 * n) revert DeviceSetMismatch(hostId);
        bytes32 key = _key(msg.sender, hostId, n == 0 ? bytes32(0) : _commitSetHash(commits, kinds));
        Host memory h = hosts[key];
        if (!h.active) _whyNotOperator(hostId);

        uint64 current = currentEpoch();
        if (epoch != current) revert WrongEpoch(epoch, current);
        if (h.lastEpoch == epoch) revert AlreadyCredited(hostId, epoch);
        if (blockNumber >= block.number) revert FutureBlock(blockNumber, uint64(block.number));
        {
            // B must lie inside the credited epoch: a quote made before the epoch began cannot earn it
            uint64 minBlock = epochStartBlock(epoch);
            if (h.lastBlock >= minBlock) minBlock = h.lastBlock + 1;
            if (blockNumber < minBlock) revert StaleBlock(blockNumber, minBlock);
        }
        {
            bytes32 actual = blockhash(blockNumber);
            if (actual != blockHash) revert WrongBlockhash(blockNumber, actual, blockHash);
        }

        // challenge laid out in memory once; the per-device challenges swap the id field (offset 104).
        uint256 ptr;
        bytes32 qualifying;
        bytes32 digest;
        bytes32 domain = HEARTBEAT_DOMAIN;
        assembly ("memory-safe") {
            ptr := mload(0x40)
            mstore(ptr, domain)
            mstore(add(ptr, HB_CHAINID), chainid())
            mstore(add(ptr, HB_POCI), shl(96, address()))
            mstore(add(ptr, HB_OPERATOR), shl(96, caller()))
            mstore(add(ptr, HB_ID), hostId)
            mstore(add(ptr, HB_EPOCH), shl(192, epoch))
            mstore(add(ptr, HB_BLOCK), shl(192, blockNumber))
            mstore(add(ptr, HB_BLOCKHASH), blockHash)
            let challenge := keccak256(ptr, HB_LENGTH)
            mstore(0x40, add(ptr, HB_RESERVED))
            let buf := add(ptr, HB_RESERVED)
            let len := shl(5, commits.length)
            calldatacopy(buf, commits.offset, len)
            digest := keccak256(buf, len)
            mstore(0, challenge)
            mstore(32, digest)
            qualifying := keccak256(0, 64)
        }
        _checkQuote(attest, qualifying);
        if (!_p256(_sha256(attest), r, s, akX, akY)) revert BadSignature();

        (bool ownKey, bool committed) = _kindsPresent(kinds);
        if (proofs.length != 0 || ownKey) _checkDeviceProofs(ptr, commits, kinds, proofs);
        if (committed) {
            beats[hostId][epoch % CHALLENGE_WINDOW] = _beatSlot(epoch, _beatRecord(epoch, blockNumber, blockHash, msg.sender, digest, kinds));
        }

        uint256 accrued = uint256(h.accrued) + uint256(h.power) * rewardPerPowerEpoch;
        if (accrued > type(uint96).max) revert ClaimFirst(hostId);
        hosts[key] = Host(uint32(epoch), uint48(blockNumber), h.power, h.count, true, uint96(accrued));
        emit Heartbeat(hostId, epoch, digest);
    }

    function _sha256(bytes calldata data) private view returns (bytes32 hash) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            calldatacopy(p, data.offset, data.length)
            if iszero(staticcall(gas(), SHA256_PRECOMPILE, p, data.length, 0, 32)) { revert(0, 0) }
            hash := mload(0)
        }
    }

    function _whyNotOperator(bytes32 hostId) private view {
        Device storage d = devices[hostId];
        if (d.status == STATUS_NONE) revert Unregistered(hostId);
        if (d.operator != msg.sender) revert NotOperator(d.operator, msg.sender);
        if (!hosts[_hostKey(msg.sender, hostId)].active) revert NotApproved(hostId);
        revert DeviceSetMismatch(hostId);
    }

    function _commitSetHash(bytes32[] calldata commits, bytes calldata kinds) private pure returns (bytes32 hash) {
        uint256 n = kinds.length;
        if (n == 0) return bytes32(0);
        assembly ("memory-safe") {
            let buf := mload(0x40)
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let p := add(buf, mul(i, 33))
                mstore(p, calldataload(add(commits.offset, shl(6, i))))
                mstore8(add(p, 32), byte(0, calldataload(add(kinds.offset, i))))
            }
            hash := keccak256(buf, mul(n, 33))
        }
    }

    /// Whether the set holds devices with an on-chain proof (own key) and devices committed by digest only.
    function _kindsPresent(bytes calldata kinds) private pure returns (bool ownKey, bool committed) {
        for (uint256 i; i < kinds.length; ++i) {
            if (uint8(kinds[i]) == KIND_P384) committed = true;
            else ownKey = true;
        }
    }

    /// What a challenge needs to recompute a committed device's nonce and digest, without storing them.
    function _beatRecord(uint64 epoch, uint64 blockNumber, bytes32 blockHash, address operator, bytes32 digest, bytes calldata kinds)
        private
        pure
        returns (bytes32)
    {
        return keccak256(abi.encodePacked(epoch, blockNumber, blockHash, operator, digest, keccak256(kinds)));
    }

    /// The epoch in the top 64 bits tells which epoch a ring slot holds; 192 bits of the record remain.
    function _beatSlot(uint64 epoch, bytes32 record) private pure returns (bytes32) {
        return bytes32((uint256(epoch) << 192) | (uint256(record) >> 64));
    }

    /// Per-device proofs, concatenated in device order: P-256/emulator x‖y‖r‖s (128 bytes),
    /// secp256k1 r‖s‖v (65), RSA-2048 modulus‖signature (512); P-384 devices have none (committed only).
    function _checkDeviceProofs(uint256 ptr, bytes32[] calldata commits, bytes calldata kinds, bytes calldata proofs) private view {
        uint256 o; // relative offset into proofs
        uint256 n = kinds.length;
        for (uint256 i; i < n; ++i) {
            uint256 k;
            bytes32 id;
            bytes32 hash;
            assembly ("memory-safe") {
                k := byte(0, calldataload(add(kinds.offset, i)))
                id := calldataload(add(commits.offset, shl(6, i)))
            }
            if (k == KIND_P384) continue;
            uint256 bad; // 1 malformed, 2 bad signature
            assembly ("memory-safe") {
                // per-device challenge: the heartbeat challenge with deviceId in the id field; message hash = sha256 of it
                mstore(add(ptr, HB_ID), id)
                mstore(0, keccak256(ptr, HB_LENGTH))
                pop(staticcall(gas(), SHA256_PRECOMPILE, 0, 32, 0, 32))
                hash := mload(0)
                if or(eq(k, KIND_P256), eq(k, KIND_EMULATOR)) {
                    switch gt(add(o, P256_PROOF_LENGTH), proofs.length)
                    case 1 { bad := 1 }
                    default {
                        let m := mload(0x40)
                        calldatacopy(add(m, 96), add(proofs.offset, o), 64) // x ‖ y
                        switch eq(keccak256(add(m, 96), 64), id)
                        case 0 { bad := 1 }
                        default {
                            mstore(m, hash)
                            calldatacopy(add(m, 32), add(proofs.offset, add(o, 64)), 64) // r ‖ s
                            mstore(0, 0)
                            let okc := staticcall(gas(), P256_PRECOMPILE, m, P256_INPUT_LENGTH, 0, 32)
                            if iszero(and(okc, and(eq(returndatasize(), 32), eq(mload(0), 1)))) { bad := 2 }
                        }
                    }
                    o := add(o, P256_PROOF_LENGTH)
                }
            }
            if (bad == 1) revert MalformedProof(id);
            if (bad == 2) revert BadDeviceSignature(id);
            if (k == KIND_SECP256K1) {
                if (proofs.length < o + 65) revert MalformedProof(id);
                if (!_k1(hash, proofs[o:o + 65], id)) revert BadDeviceSignature(id);
                o += 65;
            } else if (k == KIND_RSA2048) {
                if (proofs.length < o + 512) revert MalformedProof(id);
                (bool ok, bytes32 modulusHash) = _rsa(hash, proofs[o + 256:o + 512], proofs[o:o + 256]);
                if (modulusHash != id) revert MalformedProof(id);
                if (!ok) revert BadDeviceSignature(id);
                o += 512;
            } else if (k != KIND_P256 && k != KIND_EMULATOR) {
                revert UnsupportedKind(uint8(k));
            }
        }
        if (o != proofs.length) revert MalformedProof(bytes32(0));
    }

    // ================================================================= challenge game

    /// Anyone may challenge a committed device of a past heartbeat still in the window, with a deposit.
    /// The fields of that heartbeat (public in its calldata) are checked against its stored record.
    function challenge(
        bytes32 hostId,
        uint64 epoch,
        bytes32 deviceId,
        uint64 blockNumber,
        bytes32 blockHash,
        address operator,
        bytes32[] calldata commits,
        bytes calldata kinds,
        uint256 index
    ) external payable returns (bytes32 id) {
        if (msg.value != challengeDeposit) revert WrongDeposit(msg.value, challengeDeposit);
        uint64 current = currentEpoch();
        if (epoch >= current) revert WrongEpoch(epoch, current);
        uint64 deadline = uint64(block.number) + ANSWER_EPOCHS * epochBlocks;
        // the answer must be possible before the ring slot can be overwritten by epoch + window
        if (deadline >= epochStartBlock(epoch + CHALLENGE_WINDOW)) revert ChallengeWindowClosed(epoch);
        if (beats[hostId][epoch % CHALLENGE_WINDOW] != _beatSlot(epoch, _beatRecord(epoch, blockNumber, blockHash, operator, keccak256(abi.encodePacked(commits)), kinds))) {
            if (uint256(beats[hostId][epoch % CHALLENGE_WINDOW]) >> 192 != epoch) revert NoHeartbeat(hostId, epoch);
            revert RecordMismatch(hostId, epoch);
        }
        if (commits.length != 2 * kinds.length || index >= kinds.length || commits[2 * index] != deviceId) revert DeviceSetMismatch(hostId);
        if (uint8(kinds[index]) != KIND_P384) revert NotCommittedKind(deviceId);
        id = challengeId(hostId, epoch, deviceId);
        Challenge storage c = challenges[id];
        if (c.status != CH_NONE) revert AlreadyChallenged(id);
        c.hostId = hostId;
        c.deviceId = deviceId;
        c.epoch = epoch;
        c.deadline = deadline;
        c.status = CH_OPEN;
        c.challenger = msg.sender;
        c.deposit = uint128(msg.value);
        c.evidenceDigest = commits[2 * index + 1];
        c.nonce = heartbeatChallenge(operator, deviceId, epoch, blockNumber, blockHash);
        emit Challenged(id, hostId, deviceId, epoch, deadline, msg.sender);
    }

    /// Anyone may answer with the committed evidence: the raw SPDM exchange (request ‖ response) whose
    /// keccak256 was committed, and the device's P-384 key. Evidence that is the committed one but does not
    /// verify proves the commitment was false: the host is slashed at once.
    function answer(bytes32 id, bytes calldata publicKey, bytes calldata report) external {
        Challenge storage c = challenges[id];
        if (c.status != CH_OPEN) revert NotOpen(id);
        if (block.number > c.deadline) revert AnswerTooLate(id, c.deadline);
        if (keccak256(report) != c.evidenceDigest) revert NotCommitted(id);
        if (publicKey.length != P384_KEY_LENGTH || keccak256(publicKey) != c.deviceId) revert BadPublicKey();
        if (!_reportAnswers(report, c.nonce, publicKey)) {
            _slash(id, c, "committed evidence does not verify");
            return;
        }
        c.status = CH_ANSWERED;
        uint256 deposit = c.deposit;
        c.deposit = 0;
        _send(msg.sender, deposit); // a frivolous challenge pays the answer's gas
        emit ChallengeAnswered(id, c.hostId, c.deviceId);
    }

    function _reportAnswers(bytes calldata report, bytes32 nonce, bytes calldata publicKey) private view returns (bool) {
        if (report.length <= SPDM_REQUEST_LENGTH + P384_SIGNATURE_LENGTH) return false;
        if (uint8(report[0]) != SPDM_VERSION_11 || uint8(report[1]) != SPDM_GET_MEASUREMENTS) return false;
        if (bytes32(report[SPDM_NONCE_OFFSET:SPDM_NONCE_OFFSET + 32]) != nonce) return false;
        uint256 signed = report.length - P384_SIGNATURE_LENGTH;
        return p384Verifier.verify(report[:signed], report[signed:], publicKey);
    }

    /// After the deadline an unanswered challenge slashes the host (anyone may call).
    function slash(bytes32 id) external {
        Challenge storage c = challenges[id];
        if (c.status != CH_OPEN) revert NotOpen(id);
        if (block.number <= c.deadline) revert AnswerWindowOpen(id, c.deadline);
        _slash(id, c, "no answer");
    }

    /// The device is revoked (if still bound to the host) and the host's unclaimed rewards are forfeited:
    /// SLASH_BOUNTY_BPS of them minted to the challenger, the rest never minted; the deposit is returned.
    function _slash(bytes32 id, Challenge storage c, string memory reason) private {
        c.status = CH_SLASHED;
        bytes32 hostId = c.hostId;
        bytes32 deviceId = c.deviceId;
        Device storage d = devices[deviceId];
        if (d.status == STATUS_APPROVED && d.host == hostId) {
            _unbind(deviceId);
            emit Revoked(deviceId, hostId, reason);
        }
        uint256 forfeited;
        uint256 bounty;
        address operator = devices[hostId].operator;
        if (operator != address(0)) {
            Host storage h = hosts[_hostKey(operator, hostId)];
            forfeited = h.accrued;
            h.accrued = 0;
            bounty = forfeited * SLASH_BOUNTY_BPS / 10_000;
            if (bounty != 0) token.mint(c.challenger, bounty);
        }
        uint256 deposit = c.deposit;
        c.deposit = 0;
        _send(c.challenger, deposit);
        emit Slashed(id, hostId, deviceId, forfeited, bounty, reason);
    }

    // ================================================================= rewards

    /// Anyone may call; the reward of a host (or of the host a device is attached to) goes to its payout only.
    function claim(bytes32 id) external returns (uint256 amount) {
        Device storage d = devices[id];
        if (d.status == STATUS_NONE) revert Unregistered(id);
        bytes32 hostId = d.host;
        Device storage host = devices[hostId];
        amount = _pay(hostId, host.payout);
    }

    function _pay(bytes32 hostId, address payout) private returns (uint256 amount) {
        Host storage h = hosts[_hostKey(devices[hostId].operator, hostId)];
        amount = h.accrued;
        if (amount == 0) revert NothingToClaim(hostId);
        h.accrued = 0;
        claimed[hostId] += amount;
        token.mint(payout, amount);
        emit Claimed(hostId, payout, amount);
    }

    // ================================================================= verification primitives

    /// Strict TPMS_ATTEST (TPM_ST_ATTEST_QUOTE) parser: every length must fit and the structure must end
    /// exactly at the end of `attest`; extraData must be 32 bytes equal to `expected`.
    function _checkQuote(bytes calldata attest, bytes32 expected) private pure {
        uint256 errAt = type(uint256).max; // offset of the first bad field; max = well formed
        bytes32 extra;
        assembly ("memory-safe") {
            let p := attest.offset
            let len := attest.length
            for {} 1 {} {
                if lt(len, 10) { errAt := 0 break }
                let w := calldataload(p)
                if iszero(eq(shr(224, w), TPM_GENERATED_VALUE)) { errAt := 0 break } // magic
                if iszero(eq(and(shr(208, w), 0xffff), TPM_ST_ATTEST_QUOTE)) { errAt := 4 break } // type
                let o := add(8, and(shr(192, w), 0xffff)) // after qualifiedSigner (TPM2B_NAME)
                if gt(add(o, 63), len) { errAt := 6 break } // extraData + clockInfo + firmware + bank count
                if iszero(eq(shr(240, calldataload(add(p, o))), 32)) { errAt := o break }
                extra := calldataload(add(p, add(o, 2)))
                if iszero(eq(extra, expected)) { errAt := sub(not(0), 1) break }
                o := add(o, 59) // 2 + 32 extraData, 17 clockInfo, 8 firmwareVersion
                let banks := shr(224, calldataload(add(p, o)))
                if or(iszero(banks), gt(banks, 16)) { errAt := o break }
                o := add(o, 4)
                for { let i := 0 } lt(i, banks) { i := add(i, 1) } {
                    if gt(add(o, 3), len) { errAt := o break }
                    let sel := byte(2, calldataload(add(p, o)))
                    if or(iszero(sel), gt(sel, 32)) { errAt := add(o, 2) break }
                    o := add(o, add(3, sel))
                }
                if iszero(eq(errAt, not(0))) { break }
                if gt(add(o, 2), len) { errAt := o break }
                let dlen := shr(240, calldataload(add(p, o)))
                if or(or(iszero(dlen), gt(dlen, 64)), iszero(eq(add(add(o, 2), dlen), len))) { errAt := o }
                break
            }
        }
        if (errAt == type(uint256).max) return;
        if (errAt == type(uint256).max - 1) revert WrongExtraData(expected, extra);
        revert MalformedAttest(errAt);
    }

    /// ECDSA P-256 through the precompile at 0x100 (RIP-7212 / EIP-7951): returns 1 on success, nothing otherwise.
    function _p256(bytes32 hash, bytes32 r, bytes32 s, bytes32 x, bytes32 y) private view returns (bool ok) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, hash)
            mstore(add(p, 32), r)
            mstore(add(p, 64), s)
            mstore(add(p, 96), x)
            mstore(add(p, 128), y)
            mstore(0, 0)
            let success := staticcall(gas(), P256_PRECOMPILE, p, P256_INPUT_LENGTH, 0, 32)
            ok := and(success, and(eq(returndatasize(), 32), eq(mload(0), 1)))
        }
    }

    /// secp256k1 via ecrecover: the recovered address must be the low 20 bytes of deviceId = keccak256(x ‖ y).
    function _k1(bytes32 hash, bytes calldata sig, bytes32 deviceId) private pure returns (bool) {
        uint8 v = uint8(sig[64]);
        if (v < 27) v += 27;
        address signer = ecrecover(hash, v, bytes32(sig[:32]), bytes32(sig[32:64]));
        return signer != address(0) && signer == address(uint160(uint256(deviceId)));
    }

    /// RSA-2048 PKCS#1 v1.5 with SHA-256 and e = 65537 through modexp (0x05).
    /// Also returns keccak256(modulus) (hashed from the copy the precompile input needs anyway).
    function _rsa(bytes32 hash, bytes calldata sig, bytes calldata modulus) private view returns (bool ok, bytes32 modulusHash) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, 256)
            mstore(add(p, 32), 3)
            mstore(add(p, 64), 256)
            calldatacopy(add(p, 96), sig.offset, 256)
            mstore(add(p, 352), shl(232, 0x010001))
            calldatacopy(add(p, 355), modulus.offset, 256)
            modulusHash := keccak256(add(p, 355), 256)
            // signature must be below the modulus (no s + n malleability)
            let lt_ := 0
            for { let i := 0 } lt(i, 256) { i := add(i, 32) } {
                let a := calldataload(add(sig.offset, i))
                let b := calldataload(add(modulus.offset, i))
                if lt(a, b) { lt_ := 1 break }
                if gt(a, b) { break }
            }
            let out := add(p, 640)
            if and(lt_, staticcall(gas(), MODEXP_PRECOMPILE, p, 611, out, 256)) {
                let ff := not(0)
                ok := and(
                    eq(mload(out), 0x0001ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff),
                    and(eq(mload(add(out, 32)), ff), eq(mload(add(out, 64)), ff))
                )
                ok := and(ok, and(eq(mload(add(out, 96)), ff), eq(mload(add(out, 128)), ff)))
                ok := and(ok, eq(mload(add(out, 160)), ff))
                ok := and(ok, eq(mload(add(out, 192)), 0xffffffffffffffffffffffff003031300d060960864801650304020105000420))
                ok := and(ok, eq(mload(add(out, 224)), hash))
            }
        }
    }
}
