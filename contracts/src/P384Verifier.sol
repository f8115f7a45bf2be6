// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title ECDSA P-384 (NIST secp384r1) over SHA-384, verified entirely in the EVM.
/// @notice Stateless; Poci calls `verify` by staticcall to check an NVIDIA GPU's SPDM signature.
/// Design notes and measured gas: docs/p384-verifier.md.
///
/// Field elements mod p are two words (hi < 2^128, lo), always fully reduced to [0, p). A 384 x 384-bit
/// product is three 512-bit word products (mul + mulmod(a, b, not(0))) plus one plain mul, reduced with
/// p = 2^384 - 2^128 - 2^96 + 2^32 - 1 (Solinas: 2^384 = 2^128 + D mod p, D = 2^96 - 2^32 + 1).
/// R = u1*G + u2*Q is one interleaved wNAF double-scalar multiplication in Jacobian coordinates (a = -3):
/// width 8 for G (64 affine odd multiples, constants below), width 5 for Q (8 odd multiples built at
/// run time, with Z^2 and Z^3 kept). The x check is done projectively (X == r*Z^2), so the only inverse
/// is s^-1 mod n, taken with the MODEXP precompile, as are the two products mod n.
contract P384Verifier {
    uint256 private constant LENGTH_SCALAR = 48; // r, s, x, y and the digest: 48 bytes each, big-endian
    uint256 private constant LENGTH_PAIR = 96; // r||s and x||y

    uint256 private constant M64 = 0xffffffffffffffff; // SHA-512 words are 64 bits
    /// x * DUP64 = x||x for a 64-bit x, so shr(n, x * DUP64) holds ROTR_n(x) in its low 64 bits.
    uint256 private constant DUP64 = 0x10000000000000001;
    uint256 private constant LANE1 = 0xffffffffffffffff00000000000000000000000000000000; // M64 << 128
    // SHA memory (fixed; _sha384 moves the free memory pointer past SHA_END and pads the message there)
    uint256 private constant SHA_STATE = 0x80; // H[0..7], one per word
    uint256 private constant SHA_V = 0x180; // V[0..39]
    uint256 private constant SHA_K = 0x680; // K pairs, 0x500 above SHA_V
    uint256 private constant SHA_KW = 0xb80; // K + W pairs, 0x500 above SHA_K
    uint256 private constant SHA_END = 0x1080;
    uint256 private constant LANES = 0xffffffffffffffff0000000000000000ffffffffffffffff; // M64 | LANE1
    // SHA-384 initial hash value (FIPS 180-4 5.3.4): H0..H3 and H4..H7, big-endian
    uint256 private constant SHA384_IV_0 = 0xcbbb9d5dc1059ed8629a292a367cd5079159015a3070dd17152fecd8f70e5939;
    uint256 private constant SHA384_IV_4 = 0x67332667ffc00b318eb44a8768581511db0c2e0d64f98fa747b5481dbefa4fa4;

    /// Odd multiples 1G, 3G, ..., 127G (affine x||y, 48 + 48 bytes each), for the width-8 wNAF of u1.
    bytes private constant G_TABLE =
        hex"aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab73617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5f"
        hex"077a41d4606ffa1464793c7e5fdc7d98cb9d3910202dcd06bea4f240d3566da6b408bbae5026580d02d7e5c70500c831c995f7ca0b0c42837d0bbe9602a9fc998520b41c85115aa5f7684c0edc111eacc24abd6be4b5d298b65f28600a2f1df1"
        hex"11de24a2c251c777573cac5ea025e467f208e51dbff98fc54f6661cbe56583b037882f4a1ca297e60abcdbc3836d84bc8fa696c77440f92d0f5837e90a00e7c5284b447754d5dee88c986533b6901aeb3177686d0ae8fb33184414abe6c1713a"
        hex"283c1d7365ce4788f29f8ebf234edffead6fe997fbea5ffa2d58cc9dfa7b1c508b05526f55b9ebb2040f05b48fb6d0e19475c99061e41b88ba52efdb8c1690471a61d867ed799729d9c92cd01dbd225630d84ede32a78f9e64664cdac512ef8c"
        hex"8f0a39a4049bcb3ef1bf29b8b025b78f2216f7291e6fd3bac6cb1ee285fb6e21c388528bfee2b9535c55e4461079118b62c77e1438b601d6452c4a5322c3a9799a9b3d7ca3c400c6b7678854aed9b3029e743efedfd51b68262da4f9ac664af8"
        hex"099056e27da7b998da1eeec2904816c57fe935ed5837c37456c9fd14892d3f8c4749b66e3afb81d626356f3b55b4ddd82e4c0c234e30ab96688505544ac5e0396fc4eed8dfc363fd43ff93f41b52a3255466d51263aaff357d5dba8138c5e0bb"
        hex"a567ba97b67aea5bafdaf5002ffcc6ab9632bff9f01f873f6267bcd1f0f11c139ee5f441abd99f1baaf1ca1e3b5cbce7de1b38b3989f3318644e4147af164ecc5185595046932ec086329be057857d66776bcb8272218a7d6423a12736f429cc"
        hex"b3d13fc8b32b01058cc15c11d813525522a94156fff01c205b21f9f7da7c4e9ca849557a10b6383b4b88701a9606860b152919e7df9162a61b049b2536164b1beebac4a11d749af484d1114373dfbfd9838d24f8b284af50985d588d33f7bd62"
        hex"4099952208b4889600a5ebbcb13e1a32692befb0733b41e6dcc614e42e5805f817012a991af1f486caf3a9add9ffcc035ecf94777833059839474594af603598163ad3f8008ad0cd9b797d277f2388b304da4d2faa9680ecfa650ef5e23b09a0"
        hex"8d481dab912bc8ab16858a211d750b77e07dbecca86cd9b012390b430467aabf59c8651060801c0e9599e68713f5d41ba1592ff0121460857be99f2a60669050b2291b68a1039aa0594b32fd7adc0e8c11ffba5608004e646995b07e75e52245"
        hex"27935df4e25c6f47c7817121057d46e1606290985f8283f5f9936136bf42cdb746a37313df88fd64626b4c175eb77422380a1a3b4898d4cd9ab1a3798d1e3524a4f2d4aec079c6b7585d9c4e6c615b532b6f8d9838ef0c139d5606eb10c69f84"
        hex"3cb647a5df014c23e741a4a8000d5eb822c0102fd4293a78a68749c30c7f9aa484a900a91f7c4ab51e555ebc684aac8128300479a8f88dd04966f85ebdc18cb46103c7b0218bc8377afbf0557ead636809be21f6414b9be279b65fea0d5a2b14"
        hex"e4c6d5cb9183a6709ee9eb526794676207c4d76fab5ce0a3555746bd28fda97431a8a58b3dcb2ca446f41be83716be9aa37245523aa57845c0027f165dd74ca95942e18d15922f206280b8afe5d6a5a209a957bbac49722cffaf54d7e6aac897"
        hex"9c5fa2c13f418e623c316d5a82c8b70508e3acaa2b4a8d3a4acb49c0d7ba04e220761bc15898e1b06b4eedfa23e2e546f641de0cb075851a5afe81503cb7bf6194fdf1b7da9e59556f015651bd9218e30ef2c4b2213f519b529fb56479f48752"
        hex"f1bc35f9656c6eead7b75810ce554ee56e0af4f41cbcde50fa46d04f4d4dfca2ad69e407f57b1e27977bb83b1eb1a3732458497a559bcdccf733c547c0f2b3dc8d7aec776d94fc70531f70960a30e8383ffe8f5147848a0e53e0d05ef28faf29"
        hex"f2e6f06f0ea533e804fcfa12c087d446c73e3336394c98c59d3993124d374e62061fa485bd1b8a650c8361dba9eb28b98f86e464c200bc46f9e442612fcffbd14a041a8651780d313fb0b9ac114251cd3e8802c6d2fc9ebf3152f5ba7852680c"
        hex"38dbd58238c21bbca92758f2773bb6c955492715879f54bdaf246b3f70bec90d631eaed97add3fe2aefd7fec482c802a828c26694df8188912a77e148373d30feff54a716511f5f17b86f2aba9bd9527d3145ea7abbf4370599a066726d333bb"
        hex"77c12dceca498ff99b9863d46535a5abc3675bf4f728f3ac55a0270e5859145dc998b7fd7b3813ca29e4ae10ae1410eaeee351bc34276d3ad302f0d0bd10269e396e7fb8964f430400487a48cee2b22cc20c5f0bbef2267335747e089cbeef77"
        hex"1221b1e1be96dfe8fdb4300af2deaadcd850ac1e45c8fcb941c36c0122a10654e56ba2d9cafcb4482a07272d05de389d50b225fa8a5ed8381ad8460e2e216618059953dd8965d97db233124188d17ebb5f4f2a9231bf6723533ffb21939dd273"
        hex"9bc6b654362621678224c2dcc11702de31c65d0bd2d3642c35b72c15f264347c4983e9bc8a47b24d15ac797ea8f8fedb4482f093849864ec7147eed091efb368dba18218185770c722e5893043a248bf6ad799aed585d888c0979304abbcfcd4"
        hex"2ce37b2917ad0d5c411a5ed920a88b095185d456b279a18410d10234b609b8c7077b05ca6a94f76d10f3f39e87c76293bf27e3e07ba0ebb9dabde6f484adc04fbab5b7b88f8035478208f6db859227bb4dda48b4fa5d1dfdcf8a7d7be2a7607e"
        hex"9c3adb9111fe252ca5a2ff485cf5a64f4de52ef9689a5eb5aba8ddfa4745a605aa49a4148fbebc6780dddc249a26a33d83e8d95f813af4db50b9f80b22b4829a69dcb8452f0576634c69c4c0108a6a32dbae5b8175af7420344000dc47355061"
        hex"6ce3bf11431d1d9c3bce43bec4f4609eadd9c644fd8393e3258449c2e28cd17cb03d491de84ea016a5b68a56bbfef50fc3325e274b23604e7c76075539542abd918800e37b4e4aa858d74fe2bc8777e08105da32421e5cfe36dde9917c570471"
        hex"1273f595eaba5df1a06f4ca5fa30e0bcc870bf64c76762c0e2a9530742a384f121e9e8ccc22e6b2cd5254db0689a30fe62737fc8fe0818cba0db552ca682b49fa1afe32ae0ca83c213cce2421581486ca7147a032edfc8b0cbdaf9963d58f4ce"
        hex"a6c36459d1243ff7f504f32fc1211afd7486cc53003ed182dd74d976a49117348828f5b191d03d1c9da43e8e5a0e8cf258279fcdf96c71d91cebd105c28a71d00bd72553fa3365b422899f57821ad25b38a1bc0bc57b89f62e6ddb768c63b40a"
        hex"8bc6057da46fdafba86d2c9e23c2f5bc0b4a2a1247e8f2cc7126ed3b510b0341a618a8cc08d1b992ffe06fbae0068fb0fea19f27f6881a60fbf2a22fd1f1985d777fe7595994ae0d42fed20299ce970554c6d084dd6077f56cb597b8e22c2ce9"
        hex"a0e5cd10144167c592288353932cf40888e935bdd5f169ba8f41cbe07c3e20b6ff2ca2a90bdc08ac90903c9d776e9fa3120de79718d154feaa542f5c1e7ce4bed6396c943a16024ee7dbf0ae17f7fd0a0c9dcbea9d4197aafc5c555ade9e587e"
        hex"a059cd75571b3507307d064e7750ab08f36d925a4f0112f5f22f519eeae1eb0130d0a0e2e2ee7c873bb25771ff2b4f8540f6ae62c5a75f70026d8cebfcdfc32efc311351556408ff0fa0147d878235aaa880c76b8849bcd5aec87aa569c8d6cc"
        hex"8654ddc7eb10d5a84f1cec9879cabece6c3eb8b272461fc778baa6599653227907fd3823a2b10416709d6a38b6ecb8bd3127066c11092e88830567af763ec9d0742599e648fd7ea47d1d13d1aa1c7e4088d6dbd5abb99b51b867bea8e3578549"
        hex"cc42cb6ad9f7161a4296f482176d1b0191e7691569202b98a2b93e41e5a75d8abbf7b15b29f59772ba77d70f99fe20b0bbd6bb6bad8516d391646e65069fa685ea4223f449e3895ec23168cdfb54deb9182916746338781dda74d5345e24d63f"
        hex"0a12151e620a81a2870b7900c1c476895f729644b4fa011fa92542dbf5872edcb5e5a6d1fb4071db5c24cc10bda2cc75857c802960eaebb7e15002475bc0a80c4479d4c75bb1d9f1cf6593451a9a069884fb986767fb8c48a13e157ec5a3e83c"
        hex"b32e89eb942aab112cae508f5164ca6cac334769de358b333c968cfbb83c8f7b941560583def5431afd574f7e008f8afb1e3ae7166d9710324e2bf69603ffd5ba770fc48b73edc0679cddd7a0499009535daedff59e74a1ac81abe0944e11e2c"
        hex"88d136b5cf915a2bd452d40530433542cec9289d95cc77ab51273a44b269db68d1602978c69cc18b6dfdfc9d07d6c3e7bcb5765b04501d46e9add37f1694ea0c1b74e2086f4485f96028fcb86db0ebca42df7f37b8e7546751156170ed6f32c9"
        hex"3df769592ef670fd988732717a7956c15ae87b2beffb49a2eba618fa8559a895273020069889449832962c17b60e52f1b0bed5cdd214e04e9b457f504e7606145602cff71fa7189e9cf3da157dfbb5c5f47a74591c2b8135ef2c7aadd113ef3a"
        hex"df8eb15ddb9c782387ce93cade38321077abf22dd87d5f6daa732cee3eddcff91721b49845c63b6dfc74fad8e09412d417801aeb87c5d621ef2470b158427ad513d041617aac16a85d9e9206d105aeb78924f9ec25f4dc36087ced234c258534"
        hex"30e3183bff268e8260042b12bb6e32471e24ee5996377ba6f044c2c670975725fe53fbff2fd5387a55031162056fb7936a1fff2b5fbb5ec0122632dcc4606ebb2ae2db01fab2c93775409794f8556a178e9f5fe38657489cd64fc2ae7185e15a"
        hex"e28249700866ec1a372f242469ca96f174b78f9fe6050fa6fd241373f6938d0c286152ae4e8963e5dbf3f2f719da355c997cd3e0faf2609ccae3a94243b2ae528d288da4bf615c62c4831cb10cab261390f2f2cbd8691f7cc51974056cd8c070"
        hex"0f3ec637641fda347ce9b2f04b10e53babb0dcd153e375ffc4c29e898f450ed466f4f5d6c07c5b7610c6b6cdcdb731ea512e000769d6a3c634bad36cf68e941d1f5ce803ed04ad05ac5613ed11f8243ecf63da9ed3fb16909f738a2a39843afa"
        hex"8366c4994a4f8178be0e80d6e7c06e6c42fa847b2b2112f972bee0a7111c5b8e604c9f0f2f029c95c1134cb107e7ef95d942410a73cbefb446120a649bb9f616d31ac9082f584ed6f4b160c099d8b3d6c62625ec09ac49e5a98f6368e395d26b"
        hex"08932000271094c3b5b2305d5a0da7e5e82212837bb89bf0dc6f5d22220ed8f7b210c1a347cc2cbad6f5d6d7e27a09e123389b77f14098c6577a591d62f95536b6a5d10fcd0ea19cd28cc14674223c8be08928a3f5a656028eed430b0f759e87"
        hex"f0091b1080b24c407e983fc77c0527861e28cc8d5c9c5b48b1f416fb8f72fdbab1ba877e2dc9ea82187a3e46d072aa44022492b56c351fc882cd63a572fbb7a794ec8ccc18f16f8f352071d69af769f4e7ed6077a9a08429b58810f8cfddcfb8"
        hex"e4c3d40e786da563e5ab3cf665409a3acedee8855e9c2712e354e034d853f73bc15dffe3490a167275324ed6dec13d4e4b4b1bdc6f0d56ece31d9deec7cab1d5d33588150aa8dbe6912eb4d0d0789a522652005c7ce206c285062071b43c3cdb"
        hex"e22e9eb140b73bba60e5bad85b1a0ee9cba390739b713bf80f63a7fa72744890547e6f408d84edfb8cc6ac7ac1354b1c65c4cd738225a4797e8d6eb4e7c30093a0bf6405253c5849e62abd34b55af7d22d3184d072bcf3abe7f8690100501f82"
        hex"0d87a658e71e374c8092e374e97368780c3e5c9332370ab7fb2d7d6b6018e1deab62b87ab5a2712c3200bc9aee21919a472daa2816e70ae01c0cc6b29061b73dde5c19291060a11221a0d1013ad4dea0e196409571bd2f32f54d7c2759f1932a"
        hex"c6f0e52b141ac3f8b08d340fce52ad8f4fa8371c6315ac5c90ed9fc00a48cc82aa0727dbaab998b3752be5ef7582d838040a8f77694f01f8fe1a4c10d6724902909a12b8bd106f52386fb1d4c2717aba7a7153709ad7b2ea803426d2319512f2"
        hex"b52215034ba7255ae0b8db0e537974552e1aee36f2e8eb2d67bee640ccbed257f338ad170e894df9ce44488c1da9cdf8d7228440858ac38bcd769b2d89c7e5ab6c6b20a3cc977ddffac3805b82983f14d1ea7aad8c14876055e244068fab54bf"
        hex"cf04cfb2d4eedd366139029f3c614d464abc15f08498b24f8488aee159a36b1c8b69a76c7e8b889698d6ee4c1498007c1c7ef1164ea41c3c6905da136462e9bb8e3434f9f2ed25e6cf8b2315eae8910db47bb12411e75b6de525b6f7d508f7c6"
        hex"44f3d6e40e2d2985f1c776deaf4d0414d2e07e7240a4a0caa25bf8212eb6a61d0602b146661cfa3b1d888e8fb19b98821246457f07800f64d0fc640eb0c0a778ffe66e120c750f06388582516c4bd8411a0be81c21bfa65d6590264ff01cef8a"
        hex"c466ca9f9a9c0e475729c168ee384e01740510735f96232dbf2a4e8672a90a00c4a55ce9e774c8850a68888ffe6110174ee0f462a3048147c387195037234143a0c7033044abc4de7b2e87a6b36aa3aa6ce10e8e0164edcbb6386cea70aa4f67"
        hex"69a19bed04766dcb3a0f272d66236d7c993dc3625783183aa92ddc1e0cc6508501904f19f229c7e0e012255279ce8be4cf74050b6cdf3fcdd3339fa0c68ff20adabcb242bdc5114d550bd4ce3539f901b551bad4a7cea8cf226e6aad933d3804"
        hex"1a45894c36087948920c62db0b7259798e7429424957d52bccebb5a7fdb7a1317a21a1192a6a107e61dcc97f1851aba46c7aa1d6ebf81c5c81514f47c809c33a2afae4818161304855f2a9194f0d3932421c8e57c2c60ac290879d048faf043d"
        hex"0c87e18f3e4f445b61f3f286a3d43a09e700d150a10aed22b20fd36374f716f053647de7587ee5dc533ed22727f5125e562c803775ed2ac557640d3e270b9e0a05537dbb4e9740ab57f325c6b438bf3c9efa553ea116366bb9b03b596a18c5c9"
        hex"1b2c225d637d21e0d03cd689b96350165f98eda7a712979d444057337c75aba03606cf93f4a1ff4998af4960770c2403e6037e5f849ea52615cdac6a0abf2bad6016e2459ea198a4250ad7e4457bf7d6e6e0babb960307febc8bc6899f06cf00"
        hex"e902761c037b25c27514e5535dafb42a345f48f57cae81e3bc85993c7ad311b0b14ea5762e47a0b752bf1cf00a741bc19a7df3deeb2fcde34bd072234f3fc43352f4bce838a8d54aaca01c3e1e586aafc2b46718497cbe9cb41102def5b5aa8a"
        hex"a683d16ae6db2036166c34f04bee992f62a4dd57be2b5b65b428950d1c5da7a241b6aa8a713d06cbc4938afbf707b54511f4850ea42dc6b2502dbeff3151bf9955abee606fe080f1f92519f6aab18a38d33bb714e393523d5130cc477ac8415d"
        hex"6353902749a8614726901c4e1b449d996c68de432a3ccbd88e0830c44e1e766433b7071be6ec9a3d2339ae6b273d4af873f8e18082c83bd69d2e43d63f261307d973beb64919e6f31f292ff69e2555b62a80d2fe8bbf9db27f843fc68c415011"
        hex"66f00ce4f656676bba821b7f71cd6a1ba438bd831f79a016e22d8989ddbd6aa02014c616f20421ebe28eddded5ac615c8dcac1cbb835ebfe060b3b1a25301e5ca64649c7fd86999f5ead1b1f542187a334d3e54154b8e810061221bdf46a5f13"
        hex"25dba85a64d397da0b1052e9ea546e487befea9c9d9d68a0c5eadcfeef75a69bb5d6fc01f42bfbca6eb40bcd64c0767e36ffd05d97a813c5aa0c6c9530e79cf5f0866468f13806420aa5c851840b1e252540e790e4b654c3852ed64af1e8657d"
        hex"cfa91e2ed523d045e4c6d9800b921b1eec500bc59b7653ffdccf594d279b51ac65804cf8024d1f3e4b05937ce6737f2aac800dfc7d4a13f62e27d33da57984d19ba11bd897ed3ae259b8dc345c60132d99de996c041c5c7796e891bb8731c73a"
        hex"c6c94f31059183937d5ac80613a66b3afe1e257f1336246a962bfe8340e8b08db1c90accc568587d636322e4a8f1f4c1df68fefa3d27f97752794c5cab39df6063ea51453ba7a76db7349d42939d8c45505595a3c04720aa4667365d41aaeeac"
        hex"4229efa001587bc65d0aea9a301eef3708dcdc0d8b676e47ad8bd2eabe5c11cc449f8ca1cf4af4850bd34e6ccd9e105c8caab0a70c5286f5ec901083b33dc646de18fda9c87194fa45792ec2dd88641e1c42bc32f233e76ca94bf92dc460db77"
        hex"257f9dec7c460b4b94e4e7df06722957de9e936a5bdccbcfea87732142a90fc3605290a3a9a8138e1032b09d9674983651d8188779b115e11fe0ef2fa756cd63f54692e2cb62d148bfcdc9d8507ecad9be4c0613624cf00723cb8cc02c1915cd"
        hex"84847fb5837812b06932eb5e36deebfdcbc781af5fc29face8c04c9faf8f4cbdf41dfa583caed5ebe662ff69216ded14774d7adc16544d9e71549250a3809c2e84b9f6894939aaf465c806352b7aac2776d6cf22c259d071db036359a38f527b"
        hex"35496041ea253b0d153c9bfbc18a9e41af348afd8b1c33a5ca5d7fbbfa2d5d9d436ed1011b3d9d93e4b45d2a4b2327f173ce1eaa4ffddc1d69d9e09d164619ae8dd2ce266f9db6c330a5057c7d62de8f8ec3ce9ba7c171b9b02ada1cb3426158";

    function verify(bytes calldata message, bytes calldata signature, bytes calldata publicKey) external view returns (bool) {
        (uint256 e1, uint256 e0) = _sha384(message);
        return _verify(e1, e0, signature, publicKey);
    }

    function verifyDigest(bytes calldata digest48, bytes calldata signature, bytes calldata publicKey) external view returns (bool) {
        if (digest48.length != LENGTH_SCALAR) return false;
        uint256 e1;
        uint256 e0;
        assembly {
            e1 := shr(128, calldataload(digest48.offset))
            e0 := calldataload(add(digest48.offset, 16))
        }
        return _verify(e1, e0, signature, publicKey);
    }

    function sha384(bytes calldata data) external pure returns (bytes memory digest) {
        (uint256 h1, uint256 h0) = _sha384(data);
        digest = new bytes(LENGTH_SCALAR);
        assembly {
            mstore(add(digest, 32), shl(128, h1))
            mstore(add(digest, 48), h0)
        }
    }

    /// SHA-384 (SHA-512 with the SHA-384 IV, output cut to 48 bytes) as hi (first 16 bytes) and lo (next 32).
    /// The message schedule is kept as pairs V[k] = W[2k] | W[2k+1] << 128: 64-bit lanes with 64-bit gaps,
    /// so one add, xor, shift or DUP64 rotation serves two words (a lane's carries stay in its gap).
    function _sha384(bytes calldata data) private pure returns (uint256 h1, uint256 h0) {
        assembly {
            if lt(mload(0x40), SHA_END) { mstore(0x40, SHA_END) }
            // the round constants as pairs like V: K[2t] | K[2t+1] << 128 (FIPS 180-4 4.2.3)
            mstore(SHA_K, 0x7137449123ef65cd0000000000000000428a2f98d728ae22)
            mstore(add(SHA_K, 0x20), 0xe9b5dba58189dbbc0000000000000000b5c0fbcfec4d3b2f)
            mstore(add(SHA_K, 0x40), 0x59f111f1b605d01900000000000000003956c25bf348b538)
            mstore(add(SHA_K, 0x60), 0xab1c5ed5da6d81180000000000000000923f82a4af194f9b)
            mstore(add(SHA_K, 0x80), 0x12835b0145706fbe0000000000000000d807aa98a3030242)
            mstore(add(SHA_K, 0xa0), 0x550c7dc3d5ffb4e20000000000000000243185be4ee4b28c)
            mstore(add(SHA_K, 0xc0), 0x80deb1fe3b1696b1000000000000000072be5d74f27b896f)
            mstore(add(SHA_K, 0xe0), 0xc19bf174cf69269400000000000000009bdc06a725c71235)
            mstore(add(SHA_K, 0x100), 0xefbe4786384f25e30000000000000000e49b69c19ef14ad2)
            mstore(add(SHA_K, 0x120), 0x240ca1cc77ac9c6500000000000000000fc19dc68b8cd5b5)
            mstore(add(SHA_K, 0x140), 0x4a7484aa6ea6e48300000000000000002de92c6f592b0275)
            mstore(add(SHA_K, 0x160), 0x76f988da831153b500000000000000005cb0a9dcbd41fbd4)
            mstore(add(SHA_K, 0x180), 0xa831c66d2db432100000000000000000983e5152ee66dfab)
            mstore(add(SHA_K, 0x1a0), 0xbf597fc7beef0ee40000000000000000b00327c898fb213f)
            mstore(add(SHA_K, 0x1c0), 0xd5a79147930aa7250000000000000000c6e00bf33da88fc2)
            mstore(add(SHA_K, 0x1e0), 0x142929670a0e6e70000000000000000006ca6351e003826f)
            mstore(add(SHA_K, 0x200), 0x2e1b21385c26c926000000000000000027b70a8546d22ffc)
            mstore(add(SHA_K, 0x220), 0x53380d139d95b3df00000000000000004d2c6dfc5ac42aed)
            mstore(add(SHA_K, 0x240), 0x766a0abb3c77b2a80000000000000000650a73548baf63de)
            mstore(add(SHA_K, 0x260), 0x92722c851482353b000000000000000081c2c92e47edaee6)
            mstore(add(SHA_K, 0x280), 0xa81a664bbc4230010000000000000000a2bfe8a14cf10364)
            mstore(add(SHA_K, 0x2a0), 0xc76c51a30654be300000000000000000c24b8b70d0f89791)
            mstore(add(SHA_K, 0x2c0), 0xd69906245565a9100000000000000000d192e819d6ef5218)
            mstore(add(SHA_K, 0x2e0), 0x106aa07032bbd1b80000000000000000f40e35855771202a)
            mstore(add(SHA_K, 0x300), 0x1e376c085141ab53000000000000000019a4c116b8d2d0c8)
            mstore(add(SHA_K, 0x320), 0x34b0bcb5e19b48a800000000000000002748774cdf8eeb99)
            mstore(add(SHA_K, 0x340), 0x4ed8aa4ae3418acb0000000000000000391c0cb3c5c95a63)
            mstore(add(SHA_K, 0x360), 0x682e6ff3d6b2b8a300000000000000005b9cca4f7763e373)
            mstore(add(SHA_K, 0x380), 0x78a5636f43172f600000000000000000748f82ee5defb2fc)
            mstore(add(SHA_K, 0x3a0), 0x8cc702081a6439ec000000000000000084c87814a1f0ab72)
            mstore(add(SHA_K, 0x3c0), 0xa4506cebde82bde9000000000000000090befffa23631e28)
            mstore(add(SHA_K, 0x3e0), 0xc67178f2e372532b0000000000000000bef9a3f7b2c67915)
            mstore(add(SHA_K, 0x400), 0xd186b8c721c0c2070000000000000000ca273eceea26619c)
            mstore(add(SHA_K, 0x420), 0xf57d4f7fee6ed1780000000000000000eada7dd6cde0eb1e)
            mstore(add(SHA_K, 0x440), 0x0a637dc5a2c898a6000000000000000006f067aa72176fba)
            mstore(add(SHA_K, 0x460), 0x1b710b35131c471b0000000000000000113f9804bef90dae)
            mstore(add(SHA_K, 0x480), 0x32caab7b40c72493000000000000000028db77f523047d84)
            mstore(add(SHA_K, 0x4a0), 0x431d67c49c100d4c00000000000000003c9ebe0a15c9bebc)
            mstore(add(SHA_K, 0x4c0), 0x597f299cfc657e2a00000000000000004cc5d4becb3e42b6)
            mstore(add(SHA_K, 0x4e0), 0x6c44198c4a47581700000000000000005fcb6fab3ad6faec)
            let len := data.length
            // padding: 0x80, zeros, 128-bit big-endian bit length, to a multiple of 128 bytes
            let padded := and(add(len, 144), not(127))
            let buf := mload(0x40)
            mstore(add(buf, sub(padded, 32)), shl(3, len)) // bit length (low 16 bytes of this word)
            calldatacopy(buf, data.offset, len) // may overwrite the zero top half of that word
            calldatacopy(add(buf, len), calldatasize(), sub(sub(padded, 16), len)) // zeros: reads past calldata
            mstore8(add(buf, len), 0x80)
            mstore(0x40, add(buf, padded))

            // H[i] = the i-th 64-bit word of SHA384_IV, one per word
            for { let i := 0 } lt(i, 4) { i := add(i, 1) } {
                let sh := sub(192, shl(6, i))
                mstore(add(SHA_STATE, shl(5, i)), and(shr(sh, SHA384_IV_0), M64))
                mstore(add(SHA_STATE, add(0x80, shl(5, i))), and(shr(sh, SHA384_IV_4), M64))
            }

            for { let blk := buf } lt(blk, add(buf, padded)) { blk := add(blk, 128) } {
                // V[0..7] from the block's 16 big-endian 64-bit words, four per 32-byte load
                for { let i := 0 } lt(i, 4) { i := add(i, 1) } {
                    let m := mload(add(blk, shl(5, i)))
                    let q := add(SHA_V, shl(6, i))
                    let x := or(shr(192, m), and(m, LANE1))
                    mstore(q, x)
                    mstore(add(q, 0xa00), add(x, mload(add(q, 0x500))))
                    x := or(and(shr(64, m), M64), and(shl(128, m), LANE1))
                    mstore(add(q, 0x20), x)
                    mstore(add(q, 0xa20), add(x, mload(add(q, 0x520))))
                }
                // W[t] = sigma1(W[t-2]) + W[t-7] + sigma0(W[t-15]) + W[t-16], two at a time (t = 2k):
                // (W[t-2], W[t-1]) = V[k-1], (W[t-16], W[t-15]) = V[k-8]; the odd-aligned pairs
                // (W[t-7], W[t-6]) and (W[t-15], W[t-14]) are joined from two neighbours.
                for { let q := add(SHA_V, 0x100) } lt(q, SHA_K) { q := add(q, 0x20) } {
                    let x := mload(sub(q, 0x20))
                    let xx := mul(x, DUP64)
                    let s1 := and(xor(xor(shr(19, xx), shr(61, xx)), shr(6, x)), LANES)
                    let y := mload(sub(q, 0x100))
                    x := or(shr(128, y), shl(128, mload(sub(q, 0xe0))))
                    xx := mul(x, DUP64)
                    let s0 := and(xor(xor(shr(1, xx), shr(8, xx)), shr(7, x)), LANES)
                    x := or(shr(128, mload(sub(q, 0x80))), shl(128, mload(sub(q, 0x60))))
                    x := and(add(add(s1, x), add(s0, y)), LANES)
                    mstore(q, x)
                    mstore(add(q, 0xa00), add(x, mload(add(q, 0x500)))) // K + W for the rounds
                }
                compress()
            }
            h1 := or(shl(64, mload(SHA_STATE)), mload(add(SHA_STATE, 0x20)))
            h0 := or(
                or(shl(192, mload(add(SHA_STATE, 0x40))), shl(128, mload(add(SHA_STATE, 0x60)))),
                or(shl(64, mload(add(SHA_STATE, 0x80))), mload(add(SHA_STATE, 0xa0)))
            )

            // One SHA-512 round: d += T1 and h = T1 + T2, the other six unchanged; the caller rotates the
            // names. kw may carry the other lane in its high bits: only the low 64 bits of a sum matter.
            function round(a, b, c, d, e, f, g, h, kw) -> d2, h2 {
                let x := mul(e, DUP64)
                let t1 := add(xor(xor(shr(14, x), shr(18, x)), shr(41, x)), xor(g, and(e, xor(f, g))))
                t1 := add(t1, add(h, kw))
                d2 := and(add(d, t1), M64)
                x := mul(a, DUP64)
                t1 := add(t1, xor(xor(shr(28, x), shr(34, x)), shr(39, x)))
                h2 := and(add(t1, or(and(a, b), and(c, or(a, b)))), M64)
            }

            // 80 rounds over the K + W pairs, eight rounds per pass so that the variables rotate back into
            // place. A round adds K + W with the other lane still in the word: only the low 64 bits of a sum
            // matter, and a and e are masked before they are rotated.
            function compress() {
                let a := mload(SHA_STATE)
                let b := mload(add(SHA_STATE, 0x20))
                let c := mload(add(SHA_STATE, 0x40))
                let d := mload(add(SHA_STATE, 0x60))
                let e := mload(add(SHA_STATE, 0x80))
                let f := mload(add(SHA_STATE, 0xa0))
                let g := mload(add(SHA_STATE, 0xc0))
                let h := mload(add(SHA_STATE, 0xe0))
                let q := SHA_KW
                for {} lt(q, SHA_END) { q := add(q, 0x80) } {
                    d, h := round(a, b, c, d, e, f, g, h, mload(q))
                    c, g := round(h, a, b, c, d, e, f, g, shr(128, mload(q)))
                    b, f := round(g, h, a, b, c, d, e, f, mload(add(q, 0x20)))
                    a, e := round(f, g, h, a, b, c, d, e, shr(128, mload(add(q, 0x20))))
                    h, d := round(e, f, g, h, a, b, c, d, mload(add(q, 0x40)))
                    g, c := round(d, e, f, g, h, a, b, c, shr(128, mload(add(q, 0x40))))
                    f, b := round(c, d, e, f, g, h, a, b, mload(add(q, 0x60)))
                    e, a := round(b, c, d, e, f, g, h, a, shr(128, mload(add(q, 0x60))))
                }
                // the state through q (= SHA_END here): the optimizer then cannot swap these loads for the
                // initial a..h, which would keep both sets alive (stack too deep)
                q := sub(q, sub(SHA_END, SHA_STATE))
                addToState(q, a)
                addToState(add(q, 0x20), b)
                addToState(add(q, 0x40), c)
                addToState(add(q, 0x60), d)
                addToState(add(q, 0x80), e)
                addToState(add(q, 0xa0), f)
                addToState(add(q, 0xc0), g)
                addToState(add(q, 0xe0), h)
            }

            // H[i] += v (mod 2^64) for the state word at p
            function addToState(p, v) {
                mstore(p, and(add(mload(p), v), M64))
            }
        }
    }

    // ---------------------------------------------------------------- P-384 ECDSA
    // Curve y^2 = x^3 - 3x + b over p; n the group order. 384-bit values are (hi < 2^128, lo) word pairs.
    uint256 private constant P1 = 0xffffffffffffffffffffffffffffffff; // p >> 256; also the 128-bit mask
    uint256 private constant P0 = 0xfffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff; // p mod 2^256
    /// 2^384 - p = 2^128 + 2^96 - 2^32 + 1: adding it and dropping 2^384 subtracts p.
    uint256 private constant C = 0x100000000ffffffffffffffff00000001;
    /// D = 2^96 - 2^32 + 1, so 2^384 = 2^128 + D (mod p).
    uint256 private constant D = 0xffffffffffffffff00000001;
    uint256 private constant N1 = 0xffffffffffffffffffffffffffffffff; // n >> 256
    uint256 private constant N0 = 0xffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973; // n mod 2^256
    uint256 private constant N0_MINUS_2 = 0xffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52971; // (n - 2) mod 2^256
    uint256 private constant B1 = 0xb3312fa7e23ee7e4988e056be3f82d19; // curve b >> 256
    uint256 private constant B0 = 0x181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aef; // curve b mod 2^256
    uint256 private constant P_MINUS_N = 0x389cb27e0bc8d21fa7e5f24cb74f58851313e696333ad68c; // p - n < 2^192

    uint256 private constant MODEXP = 0x05; // EIP-198 precompile
    uint256 private constant W_G = 8; // wNAF width for u1 (table G_TABLE: 2^(W_G-2) odd multiples)
    uint256 private constant W_Q = 5; // wNAF width for u2 (2^(W_Q-2) odd multiples of Q built per call)
    uint256 private constant WNAF_BITS = 384; // scalars are < n < 2^384

    // Memory (fixed, below the free memory pointer, which _verify moves past SCRATCH_END):
    // field elements take two words (hi, lo); a Jacobian point X | Y | Z at +0, +0x40, +0x80.
    uint256 private constant ACC = 0x80; // the running sum R
    uint256 private constant DBL_GAMMA = 0x140; // doubling temporaries
    uint256 private constant DBL_BETA4 = 0x180;
    uint256 private constant ADD_S1 = 0x1c0; // addition temporary
    uint256 private constant AFF = 0x200; // the affine G multiple being added: x | y
    uint256 private constant TWO_Q = 0x280; // 2Q, a table entry
    /// Q table: entries of X | Y | Z | Z^2 | Z^3 | -Y (0x180 bytes) for Q, 3Q, ..., 15Q.
    uint256 private constant Q_TABLE = 0x400;
    uint256 private constant Q_ENTRY = 0x180;
    uint256 private constant Q_ENTRIES = 8;
    uint256 private constant DIGITS_G = 0x1000; // wNAF digits of u1, one signed byte per bit position
    uint256 private constant DIGITS_Q = 0x1200; // wNAF digits of u2
    uint256 private constant DIGITS_LEN = 0x200; // > WNAF_BITS + W_G
    uint256 private constant IO = 0x1400; // MODEXP input and output
    uint256 private constant SCRATCH_END = 0x1600;

    function _verify(uint256 e1, uint256 e0, bytes calldata signature, bytes calldata publicKey) private view returns (bool ok) {
        if (signature.length != LENGTH_PAIR || publicKey.length != LENGTH_PAIR) return false;
        assembly {
            if lt(mload(0x40), SCRATCH_END) { mstore(0x40, SCRATCH_END) }
        }
        bytes memory gTable = G_TABLE;
        assembly {
            // ------------------------------------------------ field arithmetic mod p, values in [0, p)

            // 768-bit product of two values < 2^384: t2 * 2^512 + t1 * 2^256 + t0.
            function mul768(a1, a0, b1, b0) -> t2, t1, t0 {
                t0 := mul(a0, b0)
                let mm := mulmod(a0, b0, not(0))
                t1 := sub(sub(mm, t0), lt(mm, t0)) // high word of a0 * b0
                let x := mul(a0, b1)
                mm := mulmod(a0, b1, not(0))
                t2 := sub(sub(mm, x), lt(mm, x)) // a0 * b1 < 2^384: high word < 2^128
                t1 := add(t1, x)
                t2 := add(t2, lt(t1, x))
                x := mul(a1, b0)
                mm := mulmod(a1, b0, not(0))
                t2 := add(t2, sub(sub(mm, x), lt(mm, x)))
                t1 := add(t1, x)
                t2 := add(add(t2, lt(t1, x)), mul(a1, b1))
            }

            // a * b mod p. The product is t2 * 2^512 + t1 * 2^256 + t0. With t1 = T3 * 2^128 + T2, t2 = T5 * 2^128 + T4 and 2^384 =
            // 2^128 + D, 2^512 = 2^256 + D * 2^128, 2^640 = 2^128 + D + D * 2^256 (mod p):
            // T = t0 + (T3 + T5) D + (T3 + T5 + T4 D) 2^128 + (T2 + T4 + T5 D) 2^256 (mod p), < 2^482;
            // one more fold of its bits above 2^384 leaves < 2^384 + 2^227, then at most one subtraction.
            function fmul(a1, a0, b1, b0) -> r1, r0 {
                let t2, t1, t0 := mul768(a1, a0, b1, b0)
                let x := add(shr(128, t1), shr(128, t2)) // T3 + T5
                let mm := and(t2, P1) // T4
                let u := add(x, mul(mm, D)) // coefficient of 2^128, < 2^225
                r0 := add(t0, mul(x, D))
                r1 := add(add(add(and(t1, P1), mm), mul(shr(128, t2), D)), lt(r0, t0))
                t0 := shl(128, u)
                r0 := add(r0, t0)
                r1 := add(add(r1, lt(r0, t0)), shr(128, u)) // < 2^226
                // h * 2^384 = h * 2^128 + h * D with h = r1 >> 128 < 2^98
                t1 := shr(128, r1)
                t0 := add(shl(128, t1), mul(t1, D))
                r0 := add(r0, t0)
                r1 := add(and(r1, P1), lt(r0, t0))
                // r1 <= 2^128 now; r >= p needs r1 = 2^128 (then r0 < 2^227) or r1 = P1 and r0 >= P0
                if gt(r1, sub(P1, 1)) {
                    switch gt(r1, P1)
                    case 1 {
                        r1 := 0
                        r0 := add(r0, C)
                    }
                    default {
                        if iszero(lt(r0, P0)) {
                            r1 := 0
                            r0 := sub(r0, P0)
                        }
                    }
                }
            }

            function fadd(a1, a0, b1, b0) -> r1, r0 {
                r0 := add(a0, b0)
                r1 := add(add(a1, b1), lt(r0, a0))
                // r < 2p: r >= p exactly when r + C reaches 2^384, and then r - p = r + C - 2^384
                let s0 := add(r0, C)
                let s1 := add(r1, lt(s0, r0))
                if gt(s1, P1) {
                    r1 := and(s1, P1)
                    r0 := s0
                }
            }

            // k * a mod p for a small k (3, 4, 8): one call instead of two or three fadd.
            function fsmall(a1, a0, k) -> r1, r0 {
                r0 := mul(a0, k)
                let mm := mulmod(a0, k, not(0))
                r1 := add(mul(a1, k), sub(sub(mm, r0), lt(mm, r0))) // < 2^131
                // h * 2^384 = h * C for h = r1 >> 128 < 8; then r < 2^384 + 2^132 and r - p < p, so fadd's
                // single subtraction of p finishes it
                mm := mul(shr(128, r1), C)
                r0 := add(r0, mm)
                r1, r0 := fadd(add(and(r1, P1), lt(r0, mm)), r0, 0, 0)
            }

            function fsub(a1, a0, b1, b0) -> r1, r0 {
                r0 := sub(a0, b0)
                r1 := sub(sub(a1, b1), lt(a0, b0))
                // a < b: the high word wrapped; add p = 2^384 - C
                if gt(r1, P1) {
                    r1 := sub(and(r1, P1), lt(r0, C))
                    r0 := sub(r0, C)
                }
            }

            function ld(ptr) -> h, l {
                h := mload(ptr)
                l := mload(add(ptr, 0x20))
            }

            function st(ptr, h, l) {
                mstore(ptr, h)
                mstore(add(ptr, 0x20), l)
            }

            // ------------------------------------------------ points, Jacobian (X/Z^2, Y/Z^3); Z = 0 is infinity

            // P = 2P (dbl-2001-b, a = -3): 3M + 5S.
            function pdbl(p) {
                let y1, y0 := ld(add(p, 0x40))
                let z1, z0 := ld(add(p, 0x80))
                {
                    let t1, t0 := fmul(y1, y0, z1, z0)
                    t1, t0 := fadd(t1, t0, t1, t0)
                    st(add(p, 0x80), t1, t0) // Z3 = 2YZ
                }
                y1, y0 := fmul(y1, y0, y1, y0) // gamma = Y^2
                st(DBL_GAMMA, y1, y0)
                let x1, x0 := ld(p)
                y1, y0 := fmul(x1, x0, y1, y0) // beta = X * gamma
                y1, y0 := fsmall(y1, y0, 4)
                st(DBL_BETA4, y1, y0) // 4 beta
                z1, z0 := fmul(z1, z0, z1, z0) // delta = Z^2
                y1, y0 := fsub(x1, x0, z1, z0)
                x1, x0 := fadd(x1, x0, z1, z0)
                x1, x0 := fmul(x1, x0, y1, y0)
                x1, x0 := fsmall(x1, x0, 3) // alpha = 3 (X - delta)(X + delta)
                z1, z0 := fmul(x1, x0, x1, x0)
                y1, y0 := ld(DBL_BETA4)
                z1, z0 := fsub(z1, z0, y1, y0)
                z1, z0 := fsub(z1, z0, y1, y0) // X3 = alpha^2 - 8 beta
                st(p, z1, z0)
                y1, y0 := fsub(y1, y0, z1, z0)
                x1, x0 := fmul(x1, x0, y1, y0) // alpha (4 beta - X3)
                y1, y0 := ld(DBL_GAMMA)
                y1, y0 := fmul(y1, y0, y1, y0)
                y1, y0 := fsmall(y1, y0, 8) // 8 gamma^2
                x1, x0 := fsub(x1, x0, y1, y0)
                st(add(p, 0x40), x1, x0) // Y3
            }

            // P += A for an affine A = x | y at a (madd, 8M + 3S); exact for P = infinity, A and -A.
            function paddAffine(p, a) {
                let z1, z0 := ld(add(p, 0x80))
                if iszero(or(z1, z0)) {
                    mstore(p, mload(a))
                    mstore(add(p, 0x20), mload(add(a, 0x20)))
                    mstore(add(p, 0x40), mload(add(a, 0x40)))
                    mstore(add(p, 0x60), mload(add(a, 0x60)))
                    st(add(p, 0x80), 0, 1)
                    leave
                }
                let u1, u0 := fmul(z1, z0, z1, z0) // Z1^2
                let s1, s0 := fmul(u1, u0, z1, z0) // Z1^3
                {
                    let a1, a0 := ld(add(a, 0x40))
                    s1, s0 := fmul(a1, a0, s1, s0) // S2 = y Z1^3
                    a1, a0 := ld(a)
                    u1, u0 := fmul(a1, a0, u1, u0) // U2 = x Z1^2
                }
                let x1, x0 := ld(p)
                u1, u0 := fsub(u1, u0, x1, x0) // H = U2 - X1
                {
                    let y1, y0 := ld(add(p, 0x40))
                    s1, s0 := fsub(s1, s0, y1, y0) // R = S2 - Y1
                }
                addTail(p, z1, z0, u1, u0, s1, s0, x1, x0, add(p, 0x40))
            }

            // P += T for a Q-table entry T (add-1998-cmo with Z2^2, Z2^3 cached: 12M + 2S); y: T's Y or -Y.
            function paddTable(p, t, y) {
                let z1, z0 := ld(add(p, 0x80))
                if iszero(or(z1, z0)) {
                    mstore(p, mload(t))
                    mstore(add(p, 0x20), mload(add(t, 0x20)))
                    mstore(add(p, 0x40), mload(y))
                    mstore(add(p, 0x60), mload(add(y, 0x20)))
                    mstore(add(p, 0x80), mload(add(t, 0x80)))
                    mstore(add(p, 0xa0), mload(add(t, 0xa0)))
                    leave
                }
                let u1, u0 := fmul(z1, z0, z1, z0) // Z1^2
                let s1, s0 := fmul(u1, u0, z1, z0) // Z1^3
                {
                    let a1, a0 := ld(y)
                    s1, s0 := fmul(a1, a0, s1, s0) // S2 = Y2 Z1^3
                    a1, a0 := ld(t)
                    u1, u0 := fmul(a1, a0, u1, u0) // U2 = X2 Z1^2
                    a1, a0 := ld(add(t, 0x80))
                    z1, z0 := fmul(z1, z0, a1, a0) // Z1 Z2
                }
                let x1, x0 := ld(p)
                {
                    let a1, a0 := ld(add(t, 0xc0))
                    x1, x0 := fmul(x1, x0, a1, a0) // U1 = X1 Z2^2
                }
                u1, u0 := fsub(u1, u0, x1, x0) // H = U2 - U1
                {
                    let y1, y0 := ld(add(p, 0x40))
                    let a1, a0 := ld(add(t, 0x100))
                    y1, y0 := fmul(y1, y0, a1, a0) // S1 = Y1 Z2^3
                    st(ADD_S1, y1, y0)
                    s1, s0 := fsub(s1, s0, y1, y0) // R = S2 - S1
                }
                addTail(p, z1, z0, u1, u0, s1, s0, x1, x0, ADD_S1) // z: Z1 Z2
            }

            // The common end of both additions: H = 0 is P = ±T (double, or the point at infinity); else
            // Z3 = Z H, X3 = R^2 - H^3 - 2V, Y3 = R (V - X3) - S1 H^3 with V = U1 H^2
            // (z: Z1, or Z1 Z2 for a table entry; u: H, s: R, x: U1, S1 at sp).
            function addTail(p, z1, z0, u1, u0, s1, s0, x1, x0, sp) {
                if iszero(or(u1, u0)) {
                    switch or(s1, s0)
                    case 0 { pdbl(p) }
                    default { st(add(p, 0x80), 0, 0) }
                    leave
                }
                z1, z0 := fmul(z1, z0, u1, u0)
                st(add(p, 0x80), z1, z0)
                z1, z0 := fmul(u1, u0, u1, u0) // H^2
                u1, u0 := fmul(u1, u0, z1, z0) // H^3
                x1, x0 := fmul(x1, x0, z1, z0) // V
                z1, z0 := fmul(s1, s0, s1, s0)
                z1, z0 := fsub(z1, z0, u1, u0)
                z1, z0 := fsub(z1, z0, x1, x0)
                z1, z0 := fsub(z1, z0, x1, x0) // X3
                x1, x0 := fsub(x1, x0, z1, z0)
                s1, s0 := fmul(s1, s0, x1, x0)
                x1, x0 := ld(sp)
                u1, u0 := fmul(x1, x0, u1, u0) // S1 H^3
                s1, s0 := fsub(s1, s0, u1, u0)
                st(p, z1, z0)
                st(add(p, 0x40), s1, s0)
            }

            // Z^2, Z^3 and -Y of a table entry from its X | Y | Z.
            function finishEntry(t) {
                let z1, z0 := ld(add(t, 0x80))
                let a1, a0 := fmul(z1, z0, z1, z0)
                st(add(t, 0xc0), a1, a0)
                a1, a0 := fmul(a1, a0, z1, z0)
                st(add(t, 0x100), a1, a0)
                z1, z0 := ld(add(t, 0x40))
                a1, a0 := fsub(0, 0, z1, z0)
                st(add(t, 0x140), a1, a0)
            }

            function copyPoint(dst, src) {
                for { let i := 0 } lt(i, 0xc0) { i := add(i, 0x20) } { mstore(add(dst, i), mload(add(src, i))) }
            }

            // ------------------------------------------------ scalars mod n

            // k >> pos (its low bits), for k = k1 * 2^256 + k0.
            function bitsAt(k1, k0, pos) -> v {
                switch lt(pos, 256)
                case 1 { v := or(shr(pos, k0), shl(sub(256, pos), k1)) }
                default { v := shr(sub(pos, 256), k1) }
            }

            // Width-w NAF of k (libsecp256k1's secp256k1_ecmult_wnaf): one signed byte per bit position at
            // out, odd digits |d| < 2^(w-1), at least w - 1 zeros after each. Returns 1 + the top position.
            function wnaf(k1, k0, w, out) -> top {
                calldatacopy(out, calldatasize(), DIGITS_LEN) // zeros
                let carry := 0
                let mask := sub(shl(w, 1), 1)
                for { let pos := 0 } lt(pos, add(WNAF_BITS, w)) {} {
                    let v := bitsAt(k1, k0, pos)
                    if eq(and(v, 1), carry) {
                        pos := add(pos, 1)
                        continue
                    }
                    v := add(and(v, mask), carry)
                    carry := and(shr(sub(w, 1), v), 1)
                    mstore8(add(out, pos), sub(v, shl(w, carry)))
                    pos := add(pos, w)
                    top := sub(pos, sub(w, 1))
                }
            }

            // a * b mod n by MODEXP(a * b, 1, n): 96-byte base, 1-byte exponent.
            function mulModN(a1, a0, b1, b0) -> r1, r0 {
                let t2, t1, t0 := mul768(a1, a0, b1, b0)
                mstore(IO, 96)
                mstore(add(IO, 0x20), 1)
                mstore(add(IO, 0x40), LENGTH_SCALAR)
                mstore(add(IO, 0x60), t2)
                mstore(add(IO, 0x80), t1)
                mstore(add(IO, 0xa0), t0)
                mstore8(add(IO, 0xc0), 1)
                mstore(add(IO, 0xc1), shl(128, N1))
                mstore(add(IO, 0xd1), N0)
                if iszero(staticcall(gas(), MODEXP, IO, 0xf1, IO, LENGTH_SCALAR)) { revert(0, 0) }
                r1 := shr(128, mload(IO))
                r0 := mload(add(IO, 0x10))
            }

            // s^-1 mod n = s^(n-2) mod n (n is prime).
            function invModN(s1, s0) -> r1, r0 {
                mstore(IO, LENGTH_SCALAR)
                mstore(add(IO, 0x20), LENGTH_SCALAR)
                mstore(add(IO, 0x40), LENGTH_SCALAR)
                mstore(add(IO, 0x60), shl(128, s1))
                mstore(add(IO, 0x70), s0)
                mstore(add(IO, 0x90), shl(128, N1))
                mstore(add(IO, 0xa0), N0_MINUS_2)
                mstore(add(IO, 0xc0), shl(128, N1))
                mstore(add(IO, 0xd0), N0)
                if iszero(staticcall(gas(), MODEXP, IO, 0xf0, IO, LENGTH_SCALAR)) { revert(0, 0) }
                r1 := shr(128, mload(IO))
                r0 := mload(add(IO, 0x10))
            }

            // 0 < v < n for v = v1 * 2^256 + v0 with v1 < 2^128
            function inScalarRange(v1, v0) -> yes {
                yes := and(iszero(iszero(or(v1, v0))), or(lt(v1, N1), and(eq(v1, N1), lt(v0, N0))))
            }

            // ------------------------------------------------ ECDSA

            let r1 := shr(128, calldataload(signature.offset))
            let r0 := calldataload(add(signature.offset, 0x10))
            let s1 := shr(128, calldataload(add(signature.offset, 0x30)))
            let s0 := calldataload(add(signature.offset, 0x40))
            let x1 := shr(128, calldataload(publicKey.offset))
            let x0 := calldataload(add(publicKey.offset, 0x10))
            let y1 := shr(128, calldataload(add(publicKey.offset, 0x30)))
            let y0 := calldataload(add(publicKey.offset, 0x40))

            for {} 1 {} {
                if iszero(and(inScalarRange(r1, r0), inScalarRange(s1, s0))) { break }
                // Q on the curve: x, y < p (the high word < 2^128 already; p's own is all ones) and
                // y^2 = x^3 - 3x + b
                if or(and(eq(x1, P1), iszero(lt(x0, P0))), and(eq(y1, P1), iszero(lt(y0, P0)))) { break }
                {
                    let a1, a0 := fmul(x1, x0, x1, x0)
                    a1, a0 := fmul(a1, a0, x1, x0)
                    let b1, b0 := fadd(x1, x0, x1, x0)
                    b1, b0 := fadd(b1, b0, x1, x0)
                    a1, a0 := fsub(a1, a0, b1, b0)
                    a1, a0 := fadd(a1, a0, B1, B0)
                    b1, b0 := fmul(y1, y0, y1, y0)
                    if iszero(and(eq(a1, b1), eq(a0, b0))) { break }
                }

                // u1 = e / s, u2 = r / s (mod n), as wNAF digits
                let topG := 0
                let topQ := 0
                {
                    let w1, w0 := invModN(s1, s0)
                    let u1, u0 := mulModN(e1, e0, w1, w0)
                    topG := wnaf(u1, u0, W_G, DIGITS_G)
                    u1, u0 := mulModN(r1, r0, w1, w0)
                    topQ := wnaf(u1, u0, W_Q, DIGITS_Q)
                }

                // Q table: Q, 3Q, ..., 15Q via 2Q
                st(Q_TABLE, x1, x0)
                st(add(Q_TABLE, 0x40), y1, y0)
                st(add(Q_TABLE, 0x80), 0, 1)
                finishEntry(Q_TABLE)
                copyPoint(TWO_Q, Q_TABLE)
                pdbl(TWO_Q)
                finishEntry(TWO_Q)
                for { let t := add(Q_TABLE, Q_ENTRY) } lt(t, add(Q_TABLE, mul(Q_ENTRY, Q_ENTRIES))) { t := add(t, Q_ENTRY) } {
                    copyPoint(t, sub(t, Q_ENTRY))
                    paddTable(t, TWO_Q, add(TWO_Q, 0x40))
                    finishEntry(t)
                }

                // R = u1 G + u2 Q, from the top digit down
                st(add(ACC, 0x80), 0, 0)
                let gData := add(gTable, 0x20)
                let i := topG
                if gt(topQ, i) { i := topQ }
                for {} i {} {
                    i := sub(i, 1)
                    pdbl(ACC)
                    let d := signextend(0, shr(248, mload(add(DIGITS_G, i))))
                    if d {
                        // |d| = 2j + 1 selects entry j (96 bytes: x || y); -d negates y
                        let neg := slt(d, 0)
                        if neg { d := sub(0, d) }
                        let e := add(gData, mul(shr(1, d), LENGTH_PAIR))
                        mstore(AFF, shr(128, mload(e)))
                        mstore(add(AFF, 0x20), mload(add(e, 0x10)))
                        let a1 := shr(128, mload(add(e, 0x30)))
                        let a0 := mload(add(e, 0x40))
                        if neg { a1, a0 := fsub(0, 0, a1, a0) }
                        st(add(AFF, 0x40), a1, a0)
                        paddAffine(ACC, AFF)
                    }
                    d := signextend(0, shr(248, mload(add(DIGITS_Q, i))))
                    if d {
                        let t := add(Q_TABLE, mul(shr(1, d), Q_ENTRY))
                        switch slt(d, 0)
                        case 0 { paddTable(ACC, t, add(t, 0x40)) }
                        default {
                            t := add(Q_TABLE, mul(shr(1, sub(0, d)), Q_ENTRY))
                            paddTable(ACC, t, add(t, 0x140))
                        }
                    }
                }

                // accept iff R is finite and x(R) = X / Z^2 is r or r + n (x(R) mod n == r; x(R) < p < 2n)
                let z1, z0 := ld(add(ACC, 0x80))
                if iszero(or(z1, z0)) { break }
                z1, z0 := fmul(z1, z0, z1, z0)
                x1, x0 := ld(ACC)
                {
                    let a1, a0 := fmul(r1, r0, z1, z0)
                    if and(eq(a1, x1), eq(a0, x0)) {
                        ok := 1
                        break
                    }
                }
                // r + n < p only if r < p - n (< 2^192, so r1 = 0)
                if and(iszero(r1), lt(r0, P_MINUS_N)) {
                    r0 := add(r0, N0)
                    r1 := add(N1, lt(r0, N0))
                    let a1, a0 := fmul(r1, r0, z1, z0)
                    ok := and(eq(a1, x1), eq(a0, x0))
                }
                break
            }
        }
    }
}
